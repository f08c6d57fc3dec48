#!/usr/bin/env bash
# Installs dnssec-stubd from this checkout and starts it on the default: 127.0.0.1:5353 (UDP and TCP),
# forwarding to the nameservers of /etc/resolv.conf. Run as root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)

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

mkdir -p /etc/dnssec-stubd
if [ ! -f /etc/dnssec-stubd/config.yaml ]; then
  cp examples/config.yaml /etc/dnssec-stubd/config.yaml
  echo "wrote /etc/dnssec-stubd/config.yaml"
fi

cmd=(node "$here/bin/dnssec-stubd.js" serve --config /etc/dnssec-stubd/config.yaml)
if [ -d /run/systemd/system ]; then
  cat > /etc/systemd/system/dnssec-stubd.service <<UNIT
[Unit]
Description=dnssec-stubd validating DNSSEC stub resolver
After=network-online.target
Wants=network-online.target

[Service]
# A larger young generation keeps GC pauses out of the answer latency tail (see bench/RESULTS.md).
Environment=NODE_OPTIONS=--max-semi-space-size=4
ExecStart=$(command -v node) $here/bin/dnssec-stubd.js serve --config /etc/dnssec-stubd/config.yaml
Restart=on-failure
DynamicUser=yes
# The RFC 5011 anchor state (stateDir, default /var/lib/dnssec-stubd) must be writable by the dynamic user.
StateDirectory=dnssec-stubd
StateDirectoryMode=0700
AmbientCapabilities=CAP_NET_BIND_SERVICE

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now dnssec-stubd.service
  systemctl restart dnssec-stubd.service
else
  # No systemd (containers): run it in the background with a pid file.
  if [ -f /run/dnssec-stubd.pid ] && kill -0 "$(cat /run/dnssec-stubd.pid)" 2>/dev/null; then
    kill "$(cat /run/dnssec-stubd.pid)"; sleep 1
  fi
  NODE_OPTIONS=--max-semi-space-size=4 nohup "${cmd[@]}" >>/var/log/dnssec-stubd.log 2>&1 &
  echo $! > /run/dnssec-stubd.pid
fi

for _ in $(seq 1 50); do
  if (exec 3<>/dev/tcp/127.0.0.1/5353) 2>/dev/null; then
    echo "dnssec-stubd is listening on 127.0.0.1:5353 (try: dig @127.0.0.1 -p 5353 example.org)"
    exit 0
  fi
  sleep 0.2
done
echo "dnssec-stubd did not start; see /var/log/dnssec-stubd.log or journalctl -u dnssec-stubd" >&2
exit 1
