#!/usr/bin/env bash
# Installs everything nfvchain needs on a fresh Debian/Ubuntu machine (as root):
# Open vSwitch and network tools from the distribution, Python deps in ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# Always ask apt (idempotent): a machine that happens to have OVS must not hide a missing step.
if [ "${NFV_SKIP_APT:-0}" != 1 ]; then
  apt-get update
  # Services these packages would start on install (nginx on :80, haproxy, dnsmasq...) stay off:
  # nfvchain runs its own copies inside VDUs and namespaces.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt-get install -y --no-install-recommends openvswitch-switch openvswitch-common \
    iproute2 ethtool iperf3 tcpdump python3 python3-venv python3-pip ca-certificates \
    runc busybox-static dnsmasq-base nftables haproxy nginx-light softflowd prometheus tshark
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
# Debian's package starts a system OVS on install; ours runs privately in its own run directory.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'
