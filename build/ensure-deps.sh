#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian 12 machine:
# nginx with the njs module, the njs CLI, wrk (benchmarks), podman (container
# tests), then npm packages,
# and fetches the newer engines the tests also run on (test/support/fetch-engines.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_http_js_module.so ] || missing+=(libnginx-mod-http-js)
command -v njs >/dev/null || missing+=(njs)
command -v wrk >/dev/null || missing+=(wrk)
# The container tests (test/container): podman serves the Docker API; runc and
# the network stack named, since --no-install-recommends leaves them out.
command -v podman >/dev/null || missing+=(podman runc uidmap slirp4netns fuse-overlayfs netavark aardvark-dns)
# netavark sets up the containers' published ports with iptables, which a
# minimal Debian leaves out ("netavark: No such file or directory").
[ -x /usr/sbin/iptables ] || command -v iptables >/dev/null || missing+=(iptables)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi

# Debian's newer nginx/njs builds (trixie, sid) into .engines/, for the tests.
# A failed fetch does not stop here: the test runner reports that engine as
# skipped, with the reason fetch-engines.sh left in .engines/SUITE.error.
bash test/support/fetch-engines.sh || echo "warning: some engines could not be fetched (see .engines/*.error); their tests will be skipped" >&2
