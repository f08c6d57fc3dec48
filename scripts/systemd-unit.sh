#!/usr/bin/env bash
# Prints examples/systemd/dnssec-stubd.service for the package at DIR run by NODE (scripts/install.sh uses it with
# DIR=/opt/dnssec-stubd; a checkout works too).
#   bash scripts/systemd-unit.sh DIR NODE > /etc/systemd/system/dnssec-stubd.service
set -euo pipefail
dir=${1:?usage: systemd-unit.sh DIR NODE}
node=${2:?usage: systemd-unit.sh DIR NODE}
unit="$(dirname "$0")/../examples/systemd/dnssec-stubd.service"
protect_home=yes
case "$dir" in /root|/root/*|/home|/home/*|/run/user/*) protect_home=read-only ;; esac
sed -e "s#^\(Exec[A-Za-z]*=\)/usr/bin/node /opt/dnssec-stubd/#\1$node $dir/#" \
    -e "s#^ProtectHome=yes\$#ProtectHome=$protect_home#" "$unit"
