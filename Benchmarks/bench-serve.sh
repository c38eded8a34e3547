#!/usr/bin/env bash
# exhunt serve under load: the case-store benchmark's fleet (default 1,000 hosts with 1,000
# findings each, 1,000,000 in all) in SQLite, served on loopback, each page loaded by wrk
# (Debian's package) for DURATION seconds with CONNECTIONS connections; prints p50 / p95 / p99
# latency and requests per second per page, and the server's resident memory sampled every
# second over the whole run (flat, or it grows with the load).
# The floor in the same run: wrk against the same server's static CSS (no case store), and
# against python3's http.server serving a saved copy of the overview page (a peer's static server).
#   Benchmarks/bench-serve.sh [HOSTS FINDINGS CLIENTS] [DURATION] [CONNECTIONS]   (default 1000 1000 100 15 8)
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-1000}; findings=${2:-1000}; clients=${3:-100}; duration=${4:-15}; conns=${5:-8}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product exhunt >/dev/null
swift build -c release --product exhunt-bench-case >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /tmp/exhunt-bench-serve.XXXXXX)
server=""; peer=""
trap 'kill $server $peer 2>/dev/null; rm -rf "$work"' EXIT

# FLEET=path keeps the generated store there and reuses it on the next run (generating takes minutes).
db=${FLEET:-$work/fleet.db}
if [[ ! -s "$db" ]]; then
  echo "== the fleet: $hosts hosts x $findings findings, $clients client addresses each (SQLite)"
  EXHUNT_BENCH_CASE_NAME=bench "$bin/exhunt-bench-case" "$db" "$hosts" "$findings" "$clients" 2>/dev/null | head -1
else
  echo "== the fleet: $db as generated before"
fi

"$bin/exhunt" serve --case "$db" --case-name bench --port 0 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
base=$(grep -o 'http://[^ ]*' "$work/serve.log" | head -1); base=${base%/}
echo "server: $base (pid $server)"

# p95 is not among wrk's own percentiles: a script prints it.
cat >"$work/p.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  %.0f req/s  errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
LUA
rss() { awk '/VmRSS/ {print int($2 / 1024)}' /proc/$server/status; }
( while kill -0 $server 2>/dev/null; do rss >>"$work/rss.txt"; sleep 1; done ) &
sampler=$!
load() {  # name url
  curl -fsS -o /dev/null "$2" || { echo "$1: $2 does not answer"; return; }
  printf "%-10s " "$1"
  wrk -t2 -c"$conns" -d"${duration}s" -s "$work/p.lua" "$2" | tail -1
}
before=$(rss)
load overview "$base/"
load host "$base/host?h=exch0500"
load findings "$base/host?h=exch0500&fpage=10"
load pivot "$base/pivot?kind=address&value=198.18.7.7"
load timeline "$base/timeline"
load search "$base/search?q=exch05"
load static "$base/static/app.css"
kill $sampler 2>/dev/null || true
echo "server memory: $before MiB before the load, min $(sort -n "$work/rss.txt" | head -1) max $(sort -n "$work/rss.txt" | tail -1) MiB during, $(rss) MiB after"

echo "== peer: python3 http.server serving a saved copy of the overview"
mkdir -p "$work/static" && curl -fsS "$base/" -o "$work/static/index.html"
python3 -m http.server 0 --bind 127.0.0.1 --directory "$work/static" >"$work/peer.log" 2>&1 &
peer=$!
for _ in $(seq 1 50); do grep -q "port" "$work/peer.log" && break; sleep 0.1; done
port=$(grep -o 'port [0-9]*' "$work/peer.log" | head -1 | cut -d' ' -f2)
printf "%-10s " "peer"
wrk -t2 -c"$conns" -d"${duration}s" -s "$work/p.lua" "http://127.0.0.1:$port/index.html" | tail -1
