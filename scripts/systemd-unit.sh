#!/usr/bin/env bash
# Prints examples/systemd/dnssec-stubd.service for the package at DIR run by NODE, reading CONFIG (default
# /etc/dnssec-stubd/config.yaml). scripts/install.sh uses it with DIR=/opt/dnssec-stubd and its DNSSEC_STUBD_CONFIG;
# a checkout works too. The state stays in /var/lib/dnssec-stubd (the unit's StateDirectory).
#   bash scripts/systemd-unit.sh DIR NODE [CONFIG] > /etc/systemd/system/dnssec-stubd.service
set -euo pipefail
dir=${1:?usage: systemd-unit.sh DIR NODE [CONFIG]}
node=${2:?usage: systemd-unit.sh DIR NODE [CONFIG]}
config=${3:-/etc/dnssec-stubd/config.yaml}
unit="$(dirname "$0")/../examples/systemd/dnssec-stubd.service"
protect_home=yes
case "$dir" in /root|/root/*|/home|/home/*|/run/user/*) protect_home=read-only ;; esac
sed -e "s#^\(Exec[A-Za-z]*=\)/usr/bin/node /opt/dnssec-stubd/#\1$node $dir/#" \
    -e "/^Exec/s# --config /etc/dnssec-stubd/config.yaml# --config $config#" \
    -e "s#^ProtectHome=yes\$#ProtectHome=$protect_home#" "$unit"
