#!/usr/bin/env bash
# Exported events benchmark: a JSON Lines export of real events (the evtx crate's JSON of
# ../shared's security.evtx, sysmon.evtx and Security_short_selected.evtx, repeated to SIZE_MB)
# hunted with SigmaHQ's Windows rules, beside the same events as .evtx (the same logs copied as
# often) and `jq -c .` over the export (a floor for reading JSON), in the same run.
# Usage: Benchmarks/bench-exports.sh [SIZE_MB, default 1024]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
shared=../shared/data
[ -d "$shared" ] || { echo "needs ../shared" >&2; exit 2; }
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null
swift build -c release --product exhunt >/dev/null
bin=.build/release/exhunt
rules=$shared/SigmaHQ__sigma/rules/windows
work=bench-data/exports-$size
names=(security.evtx sysmon.evtx Security_short_selected.evtx)
if [ ! -f "$work/done" ]; then
    rm -rf "$work"; mkdir -p "$work/export" "$work/evtx"
    one=0; for n in "${names[@]}"; do one=$((one + $(stat -c %s "$shared/generated/evtx_crate_json/$n.jsonl"))); done
    repeat=$(( (size * 1048576 + one - 1) / one ))
    for ((i = 0; i < repeat; i++)); do
        for n in "${names[@]}"; do cat "$shared/generated/evtx_crate_json/$n.jsonl"; done
        for n in "${names[@]}"; do ln "$shared/omerbenamram__evtx/samples/$n" "$work/evtx/$i-$n" 2>/dev/null || cp "$shared/omerbenamram__evtx/samples/$n" "$work/evtx/$i-$n"; done
    done > "$work/export/events.jsonl"
    echo "$repeat" > "$work/done"
fi
repeat=$(cat "$work/done")
export_bytes=$(stat -c %s "$work/export/events.jsonl")
# Hard links: du would count each file once.
evtx_bytes=$(find "$work/evtx" -type f -printf "%s\n" | awk "{ s += \$1 } END { print s }")
echo "export: $((export_bytes / 1048576)) MiB of JSON Lines; the same events as .evtx: $((evtx_bytes / 1048576)) MiB ($repeat x ${names[*]})"
declare -A secs
run() {  # key, label, input bytes, command...: wall seconds, peak memory, throughput
    local key=$1 label=$2 bytes=$3; shift 3
    local t0 t1 s
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o /tmp/bench-exports-rss "$@" > /dev/null 2>/tmp/bench-exports-err || true
    t1=$(date +%s.%N)
    s=$(echo "$t1 - $t0" | bc)
    secs[$key]=$s
    printf '%-48s %8.2f s  %7.1f MiB peak  %6.1f MiB/s\n' "$label" "$s" \
        "$(echo "$(tail -n 1 /tmp/bench-exports-rss) / 1024" | bc -l)" "$(echo "$bytes / 1048576 / $s" | bc -l)"
}
run jq "jq -c . over the export" "$export_bytes" jq -c . "$work/export/events.jsonl"
run evtx "exhunt hunt (SigmaHQ windows) of the .evtx" "$evtx_bytes" "$bin" hunt "$work/evtx" --rules "$rules" --no-hash --quiet --no-progress --host bench
run export "exhunt hunt (SigmaHQ windows) of the export" "$export_bytes" "$bin" hunt "$work/export" --rules "$rules" --no-hash --quiet --no-progress --host bench
printf 'export hunt / evtx hunt: %.2fx (goal <= 1.5x); export hunt / jq: %.2fx\n' \
    "$(echo "${secs[export]} / ${secs[evtx]}" | bc -l)" "$(echo "${secs[export]} / ${secs[jq]}" | bc -l)"
