#!/usr/bin/env bash
# Fetches Debian's newer nginx/njs builds into .engines/SUITE/root without
# installing them (they run through their own dynamic loader; see README
# "Engines"): trixie (nginx 1.26, njs 0.8) and sid (nginx 1.30, njs 1.0 with
# QuickJS), the versions of the official nginx Docker image. Idempotent: a
# suite already extracted is kept. Prints nothing on success.
set -euo pipefail
cd "$(dirname "$0")/.."
uris=$(grep -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$uris" ] || uris="URIs: $(grep -m1 -oE 'https?://[^ ]+' /etc/apt/sources.list 2>/dev/null || echo http://deb.debian.org/debian)"
for suite in "${@:-trixie sid}"; do
  for s in $suite; do
    D=$PWD/.engines/$s
    [ -x "$D/root/usr/sbin/nginx" ] && [ -x "$D/root/usr/bin/njs" ] && continue
    echo "fetching Debian $s's nginx and njs into .engines/$s" >&2
    rm -rf "$D"
    mkdir -p "$D/etc/sources.list.d" "$D/etc/preferences.d" "$D/lists/partial" "$D/cache/archives/partial"
    : > "$D/status"
    printf '%s\n' 'Types: deb' "$uris" "Suites: $s" 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' > "$D/etc/sources.list.d/$s.sources"
    APT=(-o "Dir::Etc=$D/etc" -o "Dir::State::Lists=$D/lists" -o "Dir::Cache=$D/cache" -o "Dir::State::status=$D/status" -o Debug::NoLocking=1)
    apt-get "${APT[@]}" update -qq >&2
    apt-get "${APT[@]}" install -y -qq --download-only --no-install-recommends nginx libnginx-mod-http-js njs >&2
    for f in "$D"/cache/archives/*.deb; do dpkg-deb -x "$f" "$D/root"; done
    rm -rf "$D/cache" "$D/lists"
  done
done
