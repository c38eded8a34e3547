#!/usr/bin/env bash
# Mass-scan benchmark: MiB of generated HttpProxy logs (default 10 GiB) holding PROBES ProxyLogon
# scanner probes (default 1,000,000) from 2,000 addresses, as every internet-facing Exchange
# server logged in March 2021. Prints exhunt's peak RSS, time and the size of every report beside
# ripgrep counting the same probes and SHA-256 alone over the same bytes on the same cores.
# Usage: Benchmarks/bench-massscan.sh [MiB] [probes]
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-10240}
PROBES=${2:-1000000}
. Benchmarks/prepare.sh
# About 1,500 generated lines per MiB: one probe every EVERY lines gives PROBES in all.
EVERY=$(( MIB * 1500 / PROBES )); [ "$EVERY" -ge 2 ] || EVERY=2
DATA=bench-data/massscan-${MIB}m-${EVERY}
if [ ! -d "$DATA" ]; then
  .build/release/exhunt-samplegen bench --out "$DATA" --mib "$MIB" --probe-every "$EVERY"
fi
python3 Benchmarks/bench_massscan.py .build/release/exhunt "$DATA"
