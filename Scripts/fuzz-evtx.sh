#!/usr/bin/env bash
# Fuzzes the EVTX parser with libFuzzer and AddressSanitizer (not part of CI: it runs until
# stopped or for the seconds given). Seeds: the first chunks of the sample logs in ../shared.
# Usage: Scripts/fuzz-evtx.sh [seconds] [jobs]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
jobs=${2:-2}
out=.build/fuzz
mkdir -p "$out/corpus" "$out/artifacts"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6)
swiftc "${flags[@]}" -module-name HuntCore -emit-module -emit-module-path "$out/HuntCore.swiftmodule" \
    -emit-library -static -o "$out/libHuntCore.a" Sources/HuntCore/*.swift
swiftc "${flags[@]}" -module-name EVTX -I "$out" -emit-module -emit-module-path "$out/EVTX.swiftmodule" \
    -emit-library -static -o "$out/libEVTX.a" Sources/EVTX/*.swift
swiftc "${flags[@]}" -I "$out" -L "$out" -lEVTX -lHuntCore Fuzz/EVTXFuzz.swift -o "$out/fuzz-evtx" 2>&1 | grep -v "Cannot export local symbol" || true
if [ -d ../shared/data ]; then
    mapfile -t seeds < <(find ../shared/data -name '*.evtx' | sort)
    for f in "${seeds[@]:0:80}"; do
        dd if="$f" of="$out/corpus/$(basename "$f").chunk" bs=4096 skip=1 count=32 status=none || true
    done
fi
# Inputs of up to three chunks; a crash or hang is saved under $out/artifacts and fails the run.
parallel=()
if [ "$jobs" -gt 1 ]; then parallel=(-fork="$jobs"); fi
"$out/fuzz-evtx" "$out/corpus" "${parallel[@]}" -max_total_time="$seconds" \
    -max_len=200000 -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$out/artifacts/" -print_final_stats=1
