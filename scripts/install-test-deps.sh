#!/usr/bin/env bash
# Installs the Debian packages that the test world (test/world/) needs and makes
# sure no packaged DNS service is left running. Idempotent; run as root on Debian.
#
#   bind9 (named, dnssec-keygen/-signzone), bind9-utils, bind9-dnsutils (dig, delv),
#   nsd, unbound (+ unbound-control), ldnsutils (ldns-signzone), dnsperf,
#   openssl (DANE test certificate), iproute2 (ip: named needs 127.54.0.4 on lo),
#   pdns-recursor (the non-DNSSEC secondary of the failover tests, run with dnssec=off),
#   gcc + libc6-dev (test/daemon/glibc.world.test.ts compiles a getaddrinfo program at test time),
#   util-linux + mount (unshare -m, mount --bind, nsenter: the private /etc/resolv.conf of test/support/private-etc.ts,
#     used by the glibc, posttls-finger and Postfix tests),
#   prometheus (promtool: check metrics/rules, test rules; the server: test/metrics' scrape world test),
#   faketime (libfaketime: the RFC 5011 30-day hold-downs of test/daemon/rollover-faketime.world.test.ts),
#   postfix (test/daemon/postfix.world.test.ts runs a private instance doing DANE through the daemon;
#     installed with debconf's "No configuration", the packaged instance is never started),
#   buildah + debootstrap (test/packaging/image.world.test.ts builds the Dockerfile and runs the image
#     without a Docker daemon; debootstrap makes the stand-in base image, scripts/container-base.sh),
#   logrotate (test/packaging/service.test.ts rotates the background mode's log with the installed snippet)
#
# Package services are never started: a temporary /usr/sbin/policy-rc.d forbids
# it during the install (an existing policy-rc.d is left untouched).
set -euo pipefail

PACKAGES=(bind9 bind9-utils bind9-dnsutils nsd unbound ldnsutils dnsperf openssl iproute2 pdns-recursor gcc libc6-dev util-linux mount prometheus faketime postfix buildah debootstrap logrotate)
# one file per package (a binary, or a header for libc6-dev), to decide quickly whether anything is missing
declare -A BINARY=(
  [bind9]=/usr/sbin/named [bind9-utils]=/usr/bin/dnssec-signzone [bind9-dnsutils]=/usr/bin/delv
  [nsd]=/usr/sbin/nsd [unbound]=/usr/sbin/unbound [ldnsutils]=/usr/bin/ldns-signzone
  [dnsperf]=/usr/bin/dnsperf [openssl]=/usr/bin/openssl [iproute2]=/usr/sbin/ip
  [pdns-recursor]=/usr/sbin/pdns_recursor
  [gcc]=/usr/bin/gcc [libc6-dev]=/usr/include/netdb.h [util-linux]=/usr/bin/unshare [mount]=/usr/bin/mount
  [prometheus]=/usr/bin/promtool [faketime]=/usr/bin/faketime [postfix]=/usr/sbin/postfix
  [buildah]=/usr/bin/buildah [debootstrap]=/usr/sbin/debootstrap [logrotate]=/usr/sbin/logrotate
)

if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: must run as root" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  bin=${BINARY[$p]}
  if [ ! -e "$bin" ] && ! command -v "$(basename "$bin")" >/dev/null 2>&1; then
    missing+=("$p")
  elif ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    # binary present but the package is not: let apt settle it
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: installing ${missing[*]}"
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary: installed by scripts/install-test-deps.sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT
  export DEBIAN_FRONTEND=noninteractive
  # postfix asks what kind of mail system this is: none (no main.cf, nothing listens on port 25)
  if command -v debconf-set-selections >/dev/null 2>&1; then
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  cleanup
  trap - EXIT
else
  echo "install-test-deps: all packages present"
fi

# Packaged services must not run: stop and disable any that was started anyway.
for svc in named bind9 nsd unbound pdns-recursor prometheus postfix; do
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    if systemctl is-active --quiet "$svc" 2>/dev/null; then
      echo "install-test-deps: stopping system service $svc"
      systemctl stop "$svc" || true
    fi
    systemctl disable --quiet "$svc" 2>/dev/null || true
  fi
done
# without systemd: stop a daemon that a package init script left running (by its system pid file)
for pidfile in /run/named/named.pid /run/nsd/nsd.pid /run/unbound.pid /run/pdns-recursor/pdns_recursor.pid /run/prometheus/prometheus.pid; do
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      echo "install-test-deps: stopping system daemon pid $pid ($pidfile)"
      kill "$pid" || true
    fi
  fi
done
# the system Postfix (config /etc/postfix, queue /var/spool/postfix): stopped the way Postfix stops,
# by its master's pid file, never by process name
if [ -x /usr/sbin/postfix ]; then
  master_pid=/var/spool/postfix/pid/master.pid
  if [ -s "$master_pid" ] && kill -0 "$(tr -d ' ' < "$master_pid")" 2>/dev/null; then
    echo "install-test-deps: stopping the system Postfix"
    /usr/sbin/postfix stop >/dev/null 2>&1 || kill "$(tr -d ' ' < "$master_pid")" || true
  fi
fi

# A DNS server on 127.0.0.1:53 or on the wildcard address would clash with the world.
if command -v ss >/dev/null 2>&1; then
  if ss -H -lnu 'sport = :53' 2>/dev/null | awk '{print $4}' | grep -qE '^(0\.0\.0\.0|\*|127\.0\.0\.1):53$'; then
    echo "install-test-deps: warning: something listens on port 53 that may clash with the test world:" >&2
    ss -lnup 'sport = :53' >&2 || true
  fi
fi

# Nothing may listen on port 25: the test world's mail hosts use it (on 127.54.102.x) and a wildcard
# listener would take their connections.
if command -v ss >/dev/null 2>&1; then
  if ss -H -lnt 'sport = :25' 2>/dev/null | awk '{print $4}' | grep -qE '^(0\.0\.0\.0|\*|\[::\]|127\.0\.0\.1|\[::1\]):25$'; then
    echo "install-test-deps: warning: something listens on port 25 that may clash with the test world:" >&2
    ss -lntp 'sport = :25' >&2 || true
  fi
fi

# AppArmor (when enabled) confines the packaged named/unbound to /etc/bind, /var/cache/bind, ...;
# the test world runs them with configs under the repository, so unload those profiles.
if [ -r /sys/kernel/security/apparmor/profiles ] && command -v apparmor_parser >/dev/null 2>&1; then
  for prof in usr.sbin.named usr.sbin.unbound; do
    if grep -q "/usr/sbin/${prof#usr.sbin.} " /sys/kernel/security/apparmor/profiles 2>/dev/null && [ -f "/etc/apparmor.d/$prof" ]; then
      echo "install-test-deps: unloading AppArmor profile $prof"
      apparmor_parser -R "/etc/apparmor.d/$prof" || true
    fi
  done
fi

# The UDP listener asks for a 4 MiB receive buffer (server.udpReceiveBuffer) so a burst of queries waits instead
# of being dropped; the kernel caps it at net.core.rmem_max (test/server/burst.test.ts checks a 1,000-query burst).
# Raised now only: on a test host the boot-time file goes to a scratch directory.
rmem_d=$(mktemp -d)
STUBD_SYSCTL_D="$rmem_d" bash "$(dirname "$0")/raise-rmem.sh" 4194304
rm -rf "$rmem_d"

echo "install-test-deps: done"
