#!/usr/bin/env bash
# Mass-scan benchmark: MiB of generated HttpProxy logs (default 10 GiB) holding PROBES ProxyLogon
# scanner probes (default 1,000,000) from 2,000 addresses, as every internet-facing Exchange
# server logged in March 2021. Prints exhunt's peak RSS, time and the size of every report beside
# ripgrep counting the same probes and SHA-256 alone over the same bytes on the same cores.
# MODE says who sends them: `scanners` (default: 2,000 addresses, each many times), `distributed`
# (a botnet: every probe from an address of its own) or `mixed` (2,000 scanners plus one-shot
# addresses for half the probes), as issue 33 asks for 400,000 probes:
#   Benchmarks/bench-massscan.sh 2048 400000 distributed
# Usage: Benchmarks/bench-massscan.sh [MiB] [probes] [scanners|distributed|mixed]
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-10240}
PROBES=${2:-1000000}
MODE=${3:-scanners}
case "$MODE" in
  scanners) GEN=(); SUFFIX="" ;;
  distributed) GEN=(--scanners 0 --one-shot "$PROBES"); SUFFIX="-distributed" ;;
  mixed) GEN=(--scanners 2000 --one-shot $(( PROBES / 2 ))); SUFFIX="-mixed" ;;
  *) echo "mode: scanners, distributed or mixed" >&2; exit 2 ;;
esac
. Benchmarks/prepare.sh
# About 1,500 generated lines per MiB: one probe every EVERY lines gives PROBES in all.
EVERY=$(( MIB * 1500 / PROBES )); [ "$EVERY" -ge 2 ] || EVERY=2
DATA=bench-data/massscan-${MIB}m-${EVERY}${SUFFIX}
if [ ! -d "$DATA" ]; then
  .build/release/exhunt-samplegen bench --out "$DATA" --mib "$MIB" --probe-every "$EVERY" "${GEN[@]}"
fi
python3 Benchmarks/bench_massscan.py .build/release/exhunt "$DATA"
