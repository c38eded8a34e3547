#!/usr/bin/env bash
# Fuzzes every parser of attacker-controlled input with libFuzzer and AddressSanitizer: EVTX,
# exported events (JSON and event XML), Exchange CSV / IIS W3C / native / NCSA / text logs, Sigma
# rules, indicator files, KAPE copy logs, ZIP evidence trees, NTFS's $MFT and change journal, Microsoft's baseline CSVs, and the survey's HTTP responses (Fuzz/Sources/fuzz-*). Seeds come from the project's own
# samples (Scripts/fuzz-seeds.sh) and, when present, ../shared.
# Usage: Scripts/fuzz.sh [seconds per harness] [jobs] [harness...]
#   Scripts/fuzz.sh 30          the smoke run CI does: 30 s each
#   Scripts/fuzz.sh 3600 1 evtx an hour of EVTX on one core
# A crash, leak, hang (>10 s) or out-of-memory (>2 GiB) is saved under .build-fuzz/artifacts/NAME/
# and fails the run. FUZZ_OUT names another folder for all of it (a campaign beside a smoke run);
# FUZZ_ARGS adds libFuzzer options (a long zip campaign runs with -detect_leaks=0: ZIPFoundation
# leaks a path string per archive opened, suppressed but still costing a full leak scan per run).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
jobs=${2:-1}
shift $(( $# > 2 ? 2 : $# ))
all=(evtx logs sigma iocs kape zip http exports mft usn baselines pe)
harnesses=("${@:-${all[@]}}")
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")
out=${FUZZ_OUT:-$PWD/.build-fuzz}
ln -sfn .. Fuzz/exhunt-link
# Coverage-instrumented and sanitized throughout; optimized, so executions are cheap. lld links
# (gold fails on these objects).
flags=(--package-path Fuzz --scratch-path "$out/build" -c release
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld)
mkdir -p "$out"
if ! swift build "${flags[@]}" > "$out/build.log" 2>&1; then
    grep -E "error|warning: unre" "$out/build.log" >&2 || tail -n 30 "$out/build.log" >&2
    exit 1
fi
bin=$(swift build "${flags[@]}" --show-bin-path)
Scripts/fuzz-seeds.sh "$out/seeds"
# Leaks of third-party libraries are listed there with why; any other leak fails the run.
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan-suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
status=0
for h in "${harnesses[@]}"; do
    corpus="$out/corpus/$h"; artifacts="$out/artifacts/$h/"
    mkdir -p "$corpus" "$artifacts"
    parallel=()
    [ "$jobs" -gt 1 ] && parallel=(-fork="$jobs" -ignore_crashes=0)
    maxlen=65536; [ "$h" = evtx ] && maxlen=200000
    # Foundation's XMLParser keeps ~90 bytes per XML error for the process's life (the product
    # bounds it per run; the fuzzer runs millions of inputs in one process).
    rss=2048; [ "$h" = exports ] && rss=6144
    echo "== fuzz-$h: ${seconds}s"
    if ! "$bin/fuzz-$h" "$corpus" "$out/seeds/$h" "${parallel[@]}" -max_total_time="$seconds" -max_len=$maxlen \
            -rss_limit_mb=$rss -timeout=10 -artifact_prefix="$artifacts" -print_final_stats=1 ${FUZZ_ARGS:-} \
            > "$out/fuzz-$h.log" 2>&1; then
        echo "fuzz-$h FAILED: see $out/fuzz-$h.log and $artifacts" >&2
        tail -n 40 "$out/fuzz-$h.log" >&2
        status=1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/fuzz-$h.log" | sed "s/^/fuzz-$h /" || true
done
exit $status
