#!/usr/bin/env bash
# Makes the root file system of the container tests' stand-in for the official
# nginx image (Docker Hub is out of reach here): Debian sid's nginx and njs
# packages (test/support/fetch-engines.sh has extracted them into
# .engines/sid/root) plus dash (a /bin/sh) and gettext-base (envsubst) for the
# entrypoint, with the official image's user, folders and log links.
# Usage: test/container/base/rootfs.sh DIR. Idempotent: the packages' part of
# DIR is made only when missing; the entrypoint is copied every time. Prints
# nothing on success.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=${1:?usage: rootfs.sh DIR}
if ! { [ -x "$out/usr/sbin/nginx" ] && [ -x "$out/usr/bin/dash" ] && [ -x "$out/usr/bin/envsubst" ]; }; then
sid=$PWD/.engines/sid
[ -x "$sid/root/usr/sbin/nginx" ] || { echo "rootfs.sh: $sid/root has no nginx (run test/support/fetch-engines.sh sid)" >&2; exit 1; }
extra=$PWD/.engines/container-base
if ! ls "$extra"/debs/dash_*.deb "$extra"/debs/gettext-base_*.deb >/dev/null 2>&1; then
  mkdir -p "$extra/lists/partial" "$extra/cache/archives/partial" "$extra/debs"
  : > "$extra/status"
  APT=(-o "Dir::Etc=$sid/etc" -o "Dir::State::Lists=$extra/lists" -o "Dir::Cache=$extra/cache" -o "Dir::State::status=$extra/status" -o Debug::NoLocking=1)
  apt-get "${APT[@]}" update -qq
  # Only these two: their dependency (libc6) is already in the sid root.
  (cd "$extra/debs" && apt-get "${APT[@]}" download dash gettext-base >/dev/null)
  rm -rf "$extra/lists" "$extra/cache"
fi
rm -rf "$out"
mkdir -p "$out"
cp -a "$sid/root/." "$out/"
for f in "$extra"/debs/*.deb; do dpkg-deb -x "$f" "$out"; done
# usrmerge links, as in Debian's own images.
for d in bin lib lib64 sbin; do
  [ -e "$out/usr/$d" ] || mkdir -p "$out/usr/$d"
  if [ -d "$out/$d" ] && [ ! -L "$out/$d" ]; then cp -a "$out/$d/." "$out/usr/$d/"; rm -rf "${out:?}/$d"; fi
  ln -sfn "usr/$d" "$out/$d"
done
ln -sfn dash "$out/usr/bin/sh"
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' \
  'nginx:x:101:101:nginx user:/nonexistent:/bin/false' > "$out/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' 'nginx:x:101:' > "$out/etc/group"
mkdir -p "$out/tmp" "$out/run" "$out/root" "$out/var/cache/nginx" "$out/var/lib/nginx" "$out/var/log/nginx" "$out/etc/nginx/conf.d" "$out/etc/nginx/templates" "$out/dev" "$out/proc" "$out/sys"
chmod 1777 "$out/tmp"
# As in the official image: logs go to the container's output.
ln -sfn /dev/stdout "$out/var/log/nginx/access.log"
ln -sfn /dev/stderr "$out/var/log/nginx/error.log"
# Debian's default site and module links are not part of the official image's layout.
rm -rf "$out/etc/nginx/sites-enabled" "$out/etc/nginx/modules-enabled"
fi
install -m 0755 test/container/base/docker-entrypoint.sh "$out/docker-entrypoint.sh"
