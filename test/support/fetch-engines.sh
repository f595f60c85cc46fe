#!/usr/bin/env bash
# Fetches Debian's newer nginx/njs builds into .engines/SUITE/root without
# installing them (they run through their own dynamic loader; see
# test/support/engines.mjs): trixie (nginx 1.26, njs 0.8) and sid (nginx 1.30,
# njs 1.0 with QuickJS), the versions of the official nginx Docker image.
# Usage: test/support/fetch-engines.sh [SUITE...] (default: trixie sid).
# Idempotent: a suite already extracted is kept. Prints nothing on success.
# A suite that cannot be fetched leaves its reason in .engines/SUITE.error
# (the test runner reports that engine as skipped with it); the exit status
# is then 1, the other suites are still fetched.
set -uo pipefail
cd "$(dirname "$0")/../.."
uris=$(grep -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$uris" ] || uris="URIs: $(grep -m1 -oE 'https?://[^ ]+' /etc/apt/sources.list 2>/dev/null || echo http://deb.debian.org/debian)"

fetch() {
  local s=$1 D=$PWD/.engines/$1
  rm -rf "$D"
  mkdir -p "$D/etc/sources.list.d" "$D/etc/preferences.d" "$D/lists/partial" "$D/cache/archives/partial" || return 1
  : > "$D/status"
  printf '%s\n' 'Types: deb' "$uris" "Suites: $s" 'Components: main' \
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' > "$D/etc/sources.list.d/$s.sources"
  local APT=(-o "Dir::Etc=$D/etc" -o "Dir::State::Lists=$D/lists" -o "Dir::Cache=$D/cache" -o "Dir::State::status=$D/status" -o Debug::NoLocking=1)
  apt-get "${APT[@]}" update -qq || return 1
  apt-get "${APT[@]}" install -y -qq --download-only --no-install-recommends nginx libnginx-mod-http-js njs || return 1
  local f
  for f in "$D"/cache/archives/*.deb; do dpkg-deb -x "$f" "$D/root" || return 1; done
  rm -rf "$D/cache" "$D/lists"
  [ -x "$D/root/usr/sbin/nginx" ] && [ -x "$D/root/usr/bin/njs" ] && [ -e "$D/root/usr/lib/nginx/modules/ngx_http_js_module.so" ]
}

status=0
for suite in ${@:-trixie sid}; do
  D=$PWD/.engines/$suite
  [ -x "$D/root/usr/sbin/nginx" ] && [ -x "$D/root/usr/bin/njs" ] && continue
  echo "fetching Debian $suite's nginx and njs into .engines/$suite" >&2
  mkdir -p .engines
  log=$(mktemp)
  if fetch "$suite" 2> >(tee "$log" >&2); then
    rm -f ".engines/$suite.error"
  else
    { echo "fetching Debian $suite's nginx, libnginx-mod-http-js and njs failed:"; tail -n 5 "$log"; } > ".engines/$suite.error"
    rm -rf "$D/root"
    echo "test/support/fetch-engines.sh: $suite: failed (see .engines/$suite.error)" >&2
    status=1
  fi
  rm -f "$log"
done
exit $status
