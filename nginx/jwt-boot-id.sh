#!/bin/sh
# Usage: jwt-boot-id.sh FILE: writes FILE (the cached auth_request style's
# jwt-boot-id.conf, included at http level) with a random id of this start,
# so cache entries of an earlier start are never served, even where the
# worker gets the same pid on every start (containers). Run it before every
# start of nginx, not before a reload.
set -eu
file=${1:?usage: jwt-boot-id.sh FILE}
id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
tmp="$file.tmp.$$"
printf '%s\n' "# written by jwt-boot-id.sh at $(date -u +%Y-%m-%dT%H:%M:%SZ): this start's id" \
  'map "" $jwt_generation {' "    default \"\$pid.$id\";" '}' > "$tmp"
mv -f "$tmp" "$file"
