#!/usr/bin/env bash
# Survey benchmark: exhunt survey vs nmap's http-headers script over the same emulated fleet, one run.
# The emulator serves COUNT Exchange-like servers (mixed builds, SSRF states, shells, plain IIS) on
# 127.2.0.0/16 addresses, HTTP on 8080 and HTTPS on 8443, loopback only.
# Usage: Benchmarks/bench-survey.sh [COUNT]   (default 4096)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-4096}
command -v nmap >/dev/null || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y nmap >/dev/null; }
Scripts/setup.sh >/dev/null
swift build -c release --product exhunt >/dev/null
swift build -c release --product exchange-emulator >/dev/null
BIN=.build/release
OUT=$(mktemp -d)
trap 'kill -9 $EMU 2>/dev/null || true; rm -rf "$OUT"' EXIT

$BIN/exchange-emulator --generate "$COUNT" --first 127.2.0.1 --seed 7 --manifest "$OUT/fleet.jsonl" \
  --http-port 8080 --https-port 8443 > "$OUT/emu.out" 2>&1 &
EMU=$!
until grep -q ready "$OUT/emu.out" 2>/dev/null; do sleep 0.2; kill -0 $EMU || { cat "$OUT/emu.out"; exit 1; }; done
python3 -c "import json,sys; [print(json.loads(l)['ip']) for l in open(sys.argv[1])]" "$OUT/fleet.jsonl" > "$OUT/targets.txt"
echo "fleet: $COUNT emulated servers on loopback ($(nproc) cores; the emulator shares them)"

measure() {  # name, command...: wall seconds and max RSS
  local name=$1; shift
  local file=${name//[^a-zA-Z0-9]/_}
  /usr/bin/time -f "%e %M" -o "$OUT/time" "$@" > "$OUT/$file.out" 2> "$OUT/$file.err" || true
  read -r secs rss < "$OUT/time"
  printf "%-44s %7.2f s  %8.0f hosts/s  RSS %4d MiB\n" "$name" "$secs" "$(echo "${N:-$COUNT} / $secs" | bc -l)" $((rss / 1024))
  eval "${name//[^a-zA-Z0-9]/_}_secs=$secs"
}

for run in 1 2; do  # the first run warms caches and the kernel's socket tables
  measure "exhunt survey (HTTP, fingerprint)" $BIN/exhunt survey -i "$OUT/targets.txt" --ports http:8080 --concurrency 256 --no-progress -o "$OUT/http.jsonl"
done
measure "exhunt survey (HTTPS, fingerprint)" $BIN/exhunt survey -i "$OUT/targets.txt" --ports https:8443 --concurrency 256 --no-progress -o "$OUT/https.jsonl"
measure "exhunt survey (HTTP, +ssrf +shells)" $BIN/exhunt survey -i "$OUT/targets.txt" --ports http:8080 --concurrency 256 --check-ssrf --probe-shells --no-progress -o "$OUT/full.jsonl"
# The issue's peer command, with -n -Pn so nmap spends no time on DNS or ping; then its faster timing template.
measure "nmap -n -Pn -p8080 --script http-headers" nmap -n -Pn -p8080 --script http-headers -iL "$OUT/targets.txt" -oN "$OUT/nmap.txt"
measure "nmap -n -Pn -T4 -p8080 --script http-headers" nmap -n -Pn -T4 -p8080 --script http-headers -iL "$OUT/targets.txt" -oN "$OUT/nmap4.txt"
measure "nmap -n -Pn -p8443 --script http-headers (TLS)" nmap -n -Pn -p8443 --script http-headers -iL "$OUT/targets.txt" -oN "$OUT/nmaps.txt"

echo
grep -c '"exchange":true' "$OUT/http.jsonl" | xargs echo "exhunt: Exchange hosts found over HTTP:"
grep -c '"exchange":true' "$OUT/https.jsonl" | xargs echo "exhunt: Exchange hosts found over HTTPS:"
grep -c "X-OWA-Version" "$OUT/nmap.txt" | xargs echo "nmap:   hosts whose headers show X-OWA-Version:"
printf "exhunt / nmap throughput (HTTP fingerprint): %.1fx (nmap default timing), %.1fx (nmap -T4)\n" \
  "$(echo "$nmap__n__Pn__p8080___script_http_headers_secs / $exhunt_survey__HTTP__fingerprint__secs" | bc -l)" \
  "$(echo "$nmap__n__Pn__T4__p8080___script_http_headers_secs / $exhunt_survey__HTTP__fingerprint__secs" | bc -l)"
printf "exhunt / nmap throughput (HTTPS fingerprint): %.1fx\n" \
  "$(echo "$nmap__n__Pn__p8443___script_http_headers__TLS__secs / $exhunt_survey__HTTPS__fingerprint__secs" | bc -l)"

# Memory must not grow with the target list: 16x more targets (mostly closed ports) should keep RSS flat.
kill -9 $EMU 2>/dev/null || true
N=4096 measure "exhunt survey 127.9.0.0/20 (4,096 closed)" $BIN/exhunt survey 127.9.0.0/20 --ports http:9 --no-progress -o "$OUT/m1.jsonl"
N=65536 measure "exhunt survey 127.9.0.0/16 (65,536 closed)" $BIN/exhunt survey 127.9.0.0/16 --ports http:9 --no-progress -o "$OUT/m2.jsonl"
