#!/usr/bin/env bash
# Raise net.core.rmem_max to BYTES, the UDP receive buffer the daemon asks for (server.udpReceiveBuffer, 4 MiB by
# default: a burst of 10,000 queries). The kernel caps a socket's buffer there, 208 KiB by default (about 256
# queries; bench/RESULTS.md "bench/burst"). Never lowers it. Writes /etc/sysctl.d/60-dnssec-stubd.conf (kept across
# reboots, removed by uninstall.sh) and applies it now; where sysctl cannot (a container), says so and goes on.
#
#   bash scripts/raise-rmem.sh BYTES        (install.sh runs it with check-config's "UDP receive buffer")
#
# For the tests: STUBD_PROC_SYS (default /proc/sys), STUBD_SYSCTL_D (default /etc/sysctl.d), STUBD_SYSCTL (default
# sysctl) move what it reads, writes and runs.
set -euo pipefail
want=${1-}
if [ $# -ne 1 ] || [ -z "$want" ]; then echo "usage: raise-rmem.sh BYTES" >&2; exit 2; fi
case "$want" in *[!0-9]*) echo "raise-rmem.sh: BYTES must be a number of bytes, got '$want'" >&2; exit 2 ;; esac
proc=${STUBD_PROC_SYS:-/proc/sys}
dir=${STUBD_SYSCTL_D:-/etc/sysctl.d}
sysctl=${STUBD_SYSCTL:-sysctl}
have=$(cat "$proc/net/core/rmem_max" 2>/dev/null || echo 0)
case "$have" in '' | *[!0-9]*) have=0 ;; esac
if [ "$want" -eq 0 ] || [ "$have" -ge "$want" ]; then
  exit 0
fi
mkdir -p "$dir"
echo "net.core.rmem_max = $want" > "$dir/60-dnssec-stubd.conf"
if "$sysctl" -q -w "net.core.rmem_max=$want" 2>/dev/null; then
  echo "raised net.core.rmem_max from $have to $want ($dir/60-dnssec-stubd.conf) for the UDP receive buffer"
else
  echo "note: net.core.rmem_max cannot be raised here (a container?): the UDP receive buffer stays capped at $have bytes, a warning at start says so; $dir/60-dnssec-stubd.conf sets it at the next boot" >&2
fi
