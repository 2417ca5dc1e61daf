#!/usr/bin/env bash
# Installs everything, then runs the all-in-one demo: a private OVS, the SDN controller,
# client/server hosts and service functions in namespaces, a chain, traffic through it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/nfv demo "$@"
