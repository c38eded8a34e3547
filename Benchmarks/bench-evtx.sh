#!/usr/bin/env bash
# EVTX benchmark: exhunt evtx dump vs the Rust evtx crate (PyPI evtx), one and two threads.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh --tests
swift build -c release --product exhunt >/dev/null
python3 Benchmarks/bench_evtx.py .build/release/exhunt ../shared/data/omerbenamram__evtx/samples/security.evtx bench-data/evtx/security-x100.evtx "${1:-3}"
