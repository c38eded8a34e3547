#!/usr/bin/env bash
# YARA benchmark: exhunt's file scan vs the yara CLI, same rules, same threads, one run.
# Usage: Benchmarks/bench-yara.sh [RULES_DIR] [threads] [repeats]  (default: ../shared signature-base)
set -euo pipefail
cd "$(dirname "$0")/.."
RULES=${1:-../shared/data/Neo23x0__signature-base/yara}
Scripts/setup.sh
swift build -c release --product exhunt >/dev/null
python3 Benchmarks/bench_yara.py .build/release/exhunt "$RULES" bench-data/webroot "${2:-2}" "${3:-3}"
