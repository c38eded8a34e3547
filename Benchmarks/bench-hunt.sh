#!/usr/bin/env bash
# Hunt benchmark: ~1 GiB of generated HttpProxy logs; exhunt vs ripgrep vs Python csv, one run.
# Usage: Benchmarks/bench-hunt.sh [MiB] [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-1024}
REPEATS=${2:-3}
. Benchmarks/prepare.sh
DATA=bench-data/httpproxy-${MIB}m
if [ ! -d "$DATA" ]; then
  .build/release/exhunt-samplegen bench --out "$DATA" --mib "$MIB"
fi
python3 Benchmarks/bench_hunt.py .build/release/exhunt "$DATA" "$REPEATS"
