#!/usr/bin/env bash
# Makes the base image the Dockerfile starts FROM (node:20-bookworm-slim) in buildah's local storage when it is
# not there, for machines that cannot reach Docker Hub (the test machines reach Debian's packages and the npm
# registry only). It is a stand-in with the same parts: Debian 12 (debootstrap, minbase), this machine's Node.js
# 20 and npm under /usr/local, a user `node` with uid/gid 1000, and this machine's CA bundle (npm ci inside the
# build goes through the same network as the machine). Used by test/packaging/image.world.test.ts.
#   bash scripts/container-base.sh            # idempotent; prints the image name
set -euo pipefail
IMAGE=docker.io/library/node:20-bookworm-slim
B=(buildah --storage-driver vfs)
if "${B[@]}" inspect --type image "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE"
  exit 0
fi
node_bin=$(command -v node)
[ "$("$node_bin" -p 'process.versions.node.split(".")[0]')" = 20 ] || { echo "container-base: needs Node.js 20 on this machine" >&2; exit 1; }
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
work=$(mktemp -d /var/tmp/stubd-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
cp "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
mkdir -p "$rootfs/etc/ssl/certs"
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
chroot "$rootfs" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
chroot "$rootfs" apt-get clean
rm -rf "$rootfs/var/lib/apt/lists/"*
ctr=$("${B[@]}" from scratch)
mnt=$("${B[@]}" mount "$ctr")
cp -a "$rootfs/." "$mnt/"
"${B[@]}" umount "$ctr" >/dev/null
"${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --cmd node "$ctr"
"${B[@]}" commit --quiet "$ctr" "$IMAGE" >/dev/null
"${B[@]}" rm "$ctr" >/dev/null
echo "$IMAGE"
