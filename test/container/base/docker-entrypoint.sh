#!/bin/sh
# The container tests' stand-in for the official nginx image's
# /docker-entrypoint.sh (not a copy of it): before starting nginx it does what
# the official 20-envsubst-on-templates.sh does, writes every
# /etc/nginx/templates/NAME.template to /etc/nginx/conf.d/NAME with envsubst of
# every environment variable that is set (others are left as written).
set -eu
if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
  dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
  suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
  out=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
  names=$(export -p | while IFS= read -r line; do
    case $line in export\ *=*) ;; *) continue ;; esac
    name=${line#export }
    name=${name%%=*}
    case $name in *[!A-Za-z0-9_]* | '') continue ;; esac
    printf '${%s} ' "$name"
  done)
  for template in "$dir"/*"$suffix"; do
    [ -f "$template" ] || continue
    file=${template##*/}
    target="$out/${file%"$suffix"}"
    echo "$0: Running envsubst on $template to $target"
    envsubst "$names" < "$template" > "$target"
  done
fi
exec "$@"
