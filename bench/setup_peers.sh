#!/usr/bin/env bash
# Installs the peer tools that bench/bench_peers.py compares donor-ledger with:
# hledger from Debian's packages, beancount + beanquery from PyPI into bench/.peers (a venv of
# its own: never the project's dependencies). Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v hledger >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq hledger >/dev/null
fi
if [ ! -x .peers/bin/bean-query ]; then
  python3 -m venv .peers
  .peers/bin/pip install -q --upgrade pip
  .peers/bin/pip install -q beancount beanquery
fi
echo "hledger: $(hledger --version | head -1)"
echo "beancount: $(.peers/bin/python -c 'import beancount; print(beancount.__version__)'), bean-query: $(ls .peers/bin/bean-query)"
