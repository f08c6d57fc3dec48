#!/usr/bin/env bash
# Removes what scripts/install.sh installed: stops the daemon (systemd unit or background process), removes the unit,
# /opt/dnssec-stubd, /usr/local/sbin/dnssec-stubdctl and /etc/logrotate.d/dnssec-stubd, /etc/sysctl.d/60-dnssec-stubd.conf. The configuration
# (/etc/dnssec-stubd), the RFC 5011 state (/var/lib/dnssec-stubd), the log and the system user stay unless --purge
# is given. Run as root. Point /etc/resolv.conf away from the daemon first if it names it.
#   bash scripts/uninstall.sh [--purge]
set -euo pipefail
purge=no
case "${1:-}" in
  --purge) purge=yes ;;
  '') ;;
  *) echo "usage: uninstall.sh [--purge]" >&2; exit 2 ;;
esac
# prefix, config, state_dir, run_dir, log, user, sbin (and mode): dnssec-stubdctl holds their defaults
eval "$(bash "$(dirname "$0")/dnssec-stubdctl" paths)"

if [ -f /etc/systemd/system/dnssec-stubd.service ]; then
  if [ -d /run/systemd/system ]; then systemctl disable --now dnssec-stubd.service || true; fi
  rm -f /etc/systemd/system/dnssec-stubd.service
  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
  echo "removed the systemd unit"
fi
if [ -x "$sbin/dnssec-stubdctl" ] && [ -f "$prefix/bin/dnssec-stubd.js" ]; then
  DNSSEC_STUBD_MODE=background "$sbin/dnssec-stubdctl" stop || true
elif [ -f "$run_dir/dnssec-stubd.pid" ]; then
  kill -TERM "$(cat "$run_dir/dnssec-stubd.pid")" 2>/dev/null || true
fi
rm -rf "$prefix" "$prefix.new" "$prefix.old" "$run_dir"
rm -f "$sbin/dnssec-stubdctl" /etc/logrotate.d/dnssec-stubd /etc/sysctl.d/60-dnssec-stubd.conf
echo "removed $prefix, $sbin/dnssec-stubdctl, /etc/logrotate.d/dnssec-stubd, /etc/sysctl.d/60-dnssec-stubd.conf (net.core.rmem_max keeps its value until reboot)"
if [ "$purge" = yes ]; then
  rm -rf "$(dirname "$config")" "$state_dir"
  rm -f "$log" "$log".*
  if id -u "$user" >/dev/null 2>&1; then userdel "$user" 2>/dev/null || true; fi
  echo "purged $(dirname "$config"), $state_dir, $log and the user $user"
else
  echo "kept $(dirname "$config"), $state_dir and $log (bash scripts/uninstall.sh --purge removes them)"
fi
