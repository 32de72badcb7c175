#!/usr/bin/env bash
# Hosts for tests of what crosses a network: N network namespaces PREFIX1..PREFIXN, each with
# eth0 = SUBNET.i/24 on one bridge, so broadcast and multicast reach them all.
#   scripts/netns-hosts.sh up PREFIX SUBNET [N]    e.g. up hv 10.99.7 3
#   scripts/netns-hosts.sh down PREFIX [N]
# Needs root and iproute2 (installed if missing). Names stay under 15 characters: keep PREFIX short.
set -euo pipefail
cmd=${1:?up or down}
prefix=${2:?prefix}
if ! command -v ip >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2
fi
case "$cmd" in
  up)
    subnet=${3:?subnet such as 10.99.7}
    n=${4:-3}
    ip link add "${prefix}br" type bridge 2>/dev/null || true
    ip link set "${prefix}br" up
    for i in $(seq 1 "$n"); do
      ip netns add "${prefix}$i"
      ip link add "${prefix}v$i" type veth peer name eth0 netns "${prefix}$i"
      ip link set "${prefix}v$i" master "${prefix}br" up
      ip -n "${prefix}$i" addr add "$subnet.$i/24" broadcast "$subnet.255" dev eth0
      ip -n "${prefix}$i" link set eth0 up
      ip -n "${prefix}$i" link set lo up
      ip -n "${prefix}$i" route add 224.0.0.0/4 dev eth0 2>/dev/null || true
    done
    ;;
  down)
    n=${3:-3}
    for i in $(seq 1 "$n"); do
      ip netns del "${prefix}$i" 2>/dev/null || true
      ip link del "${prefix}v$i" 2>/dev/null || true
    done
    ip link del "${prefix}br" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 up PREFIX SUBNET [N] | down PREFIX [N]" >&2
    exit 2
    ;;
esac
