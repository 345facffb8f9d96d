#!/bin/sh
# Runs a command in a private network namespace with only loopback up and multicast routed to it,
# so that no datagram a test sends can leave the machine. Root uses `unshare -n`; other users an
# unprivileged user namespace (`unshare -rn`).
# Usage: sh test/netns.sh COMMAND [ARG...]
set -eu
if [ "${P2P_PROLOG_NETNS:-}" = 1 ]; then
  exec "$@"
fi
command -v unshare >/dev/null || { echo "netns.sh: unshare is missing (apt-get install util-linux)" >&2; exit 1; }
command -v ip >/dev/null || { echo "netns.sh: ip is missing (apt-get install iproute2)" >&2; exit 1; }
if [ "$(id -u)" = 0 ]; then flags=-n; else flags=-rn; fi
exec unshare $flags sh -c '
  ip link set lo up &&
  ip route add 224.0.0.0/4 dev lo &&
  P2P_PROLOG_NETNS=1 exec "$@"' netns "$@"
