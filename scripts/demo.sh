#!/usr/bin/env bash
# Installs everything, then starts the all-in-one (a private OVS, the SDN controller, the NFVO
# with its SQLite store and the local VIM) and runs the demo: client, server, firewall and
# counter VNFs, a symmetric chain with a classifier, traffic, what the SFs saw.
# The stack keeps running afterwards for `nfv ...` commands; `.venv/bin/nfv down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ -f /run/nfvchain/stack.json ]; then .venv/bin/nfv down || true; fi
exec .venv/bin/nfv up --demo "$@"
