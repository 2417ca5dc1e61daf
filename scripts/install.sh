#!/usr/bin/env bash
# Installs everything nfvchain needs on a fresh Debian/Ubuntu machine (as root):
# Open vSwitch and network tools from the distribution, Python deps in ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# Always ask apt (idempotent): a machine that happens to have OVS must not hide a missing step.
if [ "${NFV_SKIP_APT:-0}" != 1 ]; then
  apt-get update
  apt-get install -y --no-install-recommends openvswitch-switch openvswitch-common \
    iproute2 ethtool iperf3 tcpdump python3 python3-venv python3-pip ca-certificates
fi
# Debian's package starts a system OVS on install; ours runs privately in its own run directory.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'
