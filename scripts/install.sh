#!/usr/bin/env bash
# Installs dnssec-stubd from this checkout and starts it on the default: 127.0.0.1:5353 (UDP and TCP), forwarding to
# the nameservers of /etc/resolv.conf. Run as root on Debian; run it again to upgrade.
#
# What it does, in an order that never stops a working daemon for nothing:
#   1. Node.js 20+ (Debian's packages if missing), `npm ci`, build, in this checkout;
#   2. stages the package (bin, dist/src, trust-anchors, production node_modules) in /opt/dnssec-stubd.new:
#      a place every user can read, so the service user never needs this checkout (a home with mode 700 is fine);
#   3. writes /etc/dnssec-stubd/config.yaml if absent, and checks it with the new code (dnssec-stubd check-config):
#      an error stops here (exit 2), with the running daemon and /opt/dnssec-stubd untouched;
#      then raises net.core.rmem_max to the configuration's UDP receive buffer (scripts/raise-rmem.sh);
#   4. puts the staged package in place as /opt/dnssec-stubd and dnssec-stubdctl in /usr/local/sbin;
#   5. starts or restarts it: a systemd unit where systemd runs (examples/systemd/dnssec-stubd.service, dynamic
#      user), otherwise a background process run as the system user dnssec-stubd (created here) with only
#      CAP_NET_BIND_SERVICE, its pid file in /run/dnssec-stubd, its log in /var/log/dnssec-stubd.log rotated by
#      /etc/logrotate.d/dnssec-stubd;
#   6. waits until the daemon can serve an MTA (dnssec-stubd ready: listeners open, self-test passed, a
#      DNSSEC-capable upstream, ". DNSKEY" validated) and says so, or says what is wrong and what to do (exit 1).
# Paths can be moved with the variables dnssec-stubdctl reads (DNSSEC_STUBD_PREFIX, DNSSEC_STUBD_CONFIG, ...; the
# systemd unit takes PREFIX and CONFIG, its state stays in /var/lib/dnssec-stubd); dnssec-stubdctl needs the same
# variables set when it runs later.
set -euo pipefail
cd "$(dirname "$0")/.."

# prefix, config, state_dir, run_dir, log, user, sbin and mode (systemd or background): dnssec-stubdctl decides
eval "$(bash scripts/dnssec-stubdctl paths)"
export DNSSEC_STUBD_PREFIX=$prefix DNSSEC_STUBD_CONFIG=$config DNSSEC_STUBD_USER=$user DNSSEC_STUBD_LOG=$log

need_node() {
  command -v node >/dev/null 2>&1 || return 0
  [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]
}
if need_node; then
  echo "installing Node.js from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "dnssec-stubd needs Node.js 20 or newer; this machine has $(node --version)" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm run build --silent

# 2. The package, staged next to where it goes.
stage="$prefix.new"
rm -rf "$stage"
mkdir -p "$stage/dist" "$stage/scripts"
cp -R bin trust-anchors package.json package-lock.json "$stage/"
cp -R dist/src "$stage/dist/src"
cp scripts/dnssec-stubdctl "$stage/scripts/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error)
chmod -R u=rwX,go=rX "$stage"

# 3. The configuration, checked by the code that will run it.
mkdir -p "$(dirname "$config")"
if [ ! -f "$config" ]; then
  cp examples/config.yaml "$config"
  echo "wrote $config"
fi
if ! checked=$(node "$stage/bin/dnssec-stubd.js" check-config --config "$config"); then
  rm -rf "$stage"
  echo "install.sh: $config has an error (above). Nothing was installed and a running dnssec-stubd was left alone: fix the file and run install.sh again" >&2
  exit 2
fi
printf '%s\n' "$checked"

# The kernel's cap on socket receive buffers, up to what the configuration asks for (scripts/raise-rmem.sh).
want_rmem=$(printf '%s\n' "$checked" | sed -n 's/^ *UDP receive buffer: \([0-9][0-9]*\) bytes.*/\1/p')
bash scripts/raise-rmem.sh "${want_rmem:-4194304}"

# 4. In place.
rm -rf "$prefix.old"
if [ -d "$prefix" ]; then mv "$prefix" "$prefix.old"; fi
mv "$stage" "$prefix"
rm -rf "$prefix.old"
mkdir -p "$sbin"
install -m 0755 "$prefix/scripts/dnssec-stubdctl" "$sbin/dnssec-stubdctl"
ctl="$sbin/dnssec-stubdctl"

# 5. The service, and 6. its readiness (dnssec-stubdctl waits and says what is wrong).
if [ "$mode" = systemd ]; then
  bash scripts/systemd-unit.sh "$prefix" "$(command -v node)" "$config" > /etc/systemd/system/dnssec-stubd.service
  systemctl daemon-reload
  systemctl enable dnssec-stubd.service >/dev/null
  exec "$ctl" restart
fi
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
  echo "created the system user $user (the background daemon runs as it)"
fi
mkdir -p /etc/logrotate.d
sed "s#^/var/log/dnssec-stubd.log #$log #" examples/logrotate/dnssec-stubd > /etc/logrotate.d/dnssec-stubd
command -v logrotate >/dev/null || echo "note: /etc/logrotate.d/dnssec-stubd rotates $log once logrotate is installed (apt-get install logrotate)"
exec "$ctl" restart
