#!/usr/bin/env bash
# What a Celery task costs on top of the plain command line, with the plain command line's figure
# in the same run: the same bundle hunted into the same PostgreSQL case store by `exhunt hunt
# --case` and as a fleet task (submit -> queue -> worker -> claim -> exhunt -> finish), for the
# small sample and a 1 GiB bundle; then throughput of small bundles with one and with two worker
# processes. Redis and the workers are the run's own, on loopback.
#   Benchmarks/bench-fleet.sh [MIB] [BUNDLES]      (default 1024 and 12)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}; count=${2:-12}
swift build -c release --product exhunt >/dev/null
swift build -c release --product exhunt-samplegen >/dev/null
bin=$(swift build -c release --show-bin-path)
case_url=$(Scripts/postgres.sh)
work=$(mktemp -d /tmp/exhunt-bench-fleet.XXXXXX)
port=16379
redis-server --bind 127.0.0.1 --port $port --save '' --appendonly no --daemonize yes --pidfile "$work/redis.pid" >/dev/null
workers=()
cleanup() { for p in "${workers[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done; kill "$(cat "$work/redis.pid")" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export EXHUNT_BROKER=redis://127.0.0.1:$port/0 EXHUNT_CASE=$case_url EXHUNT_BINARY=$bin/exhunt PYTHONPATH=$PWD/Integrations/celery \
       EXHUNT_RETRY_DELAY=1 EXHUNT_QUEUE=bench-$$
cores=$(nproc)

start_workers() { # N: N worker processes sharing the cores (slot 1 each, -j cores/N)
  for i in $(seq 1 "$1"); do
    EXHUNT_SLOTS=1 EXHUNT_JOBS=$(( cores / $1 > 0 ? cores / $1 : 1 )) setsid python3 -m exhunt_celery worker --hostname "b$i@$$" \
      >"$work/worker-$i.log" 2>&1 &
    workers+=($!)
  done
  for i in $(seq 1 "$1"); do until grep -q "ready\." "$work/worker-$i.log"; do sleep 0.2; done; done
}
stop_workers() { for p in "${workers[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done; workers=(); }

# Seconds from submit to the last work row done, measured by the store's own clock (the rows'
# times), so the polling here can be slow: on two cores a busy poll would slow the hunt it times.
fleet_seconds() { # CASE-NAME
  local name=$1
  until exhunt_status "$name" | python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; sys.exit(0 if c["queued"]+c["running"]+c["retrying"]==0 else 1)'; do sleep 1; done
  exhunt_status "$name" --all | python3 -c '
import json, sys, datetime
items = json.load(sys.stdin)["items"]
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
bad = [i for i in items if i["state"] != "done"]
if bad: sys.exit("failed: %s" % bad)
total = max(t(i["finished"]) for i in items) - min(t(i["submitted"]) for i in items)
queued = sum(t(i["started"]) - t(i["submitted"]) for i in items) / len(items)
print("%.2f" % total)
print("  %s: queued (submit, enqueue, delivery) %.2f s on average, ran (claim, exhunt, finish) %.2f s" % (sys.argv[1], queued, total - queued), file=sys.stderr)' "$name"
}
exhunt_status() { "$bin/exhunt" fleet status --case-name "$1" --json "${@:2}"; }
now() { date +%s.%N; }

echo "== bundles"
small=$PWD/Samples/compromised-server
"$bin/exhunt-samplegen" bench --out "$work/large/C/Program Files/Microsoft" --mib "$mib" --probe-every 20000 >/dev/null
large=$work/large
echo "small: $(du -sh "$small" | cut -f1)  large: $(du -sh "$large" | cut -f1)"

start_workers 1
for kind in small large; do
  bundle=${!kind}
  plain=() task=()
  for r in 1 2 3; do
    name=bench-plain-$kind-$r-$$
    t0=$(now); "$bin/exhunt" hunt "$bundle" --host "$kind" --case-name "$name" --quiet --no-progress -j "$cores" >/dev/null || true; t1=$(now)
    plain+=("$(echo "$t1 - $t0" | bc)")
    name=bench-task-$kind-$r-$$
    "$bin/exhunt" fleet submit "$bundle" --case-name "$name" --host-from-name >/dev/null
    task+=("$(fleet_seconds "$name")")
  done
  python3 - "$kind" "${plain[*]}" "${task[*]}" <<'PY'
import statistics, sys
kind, plain, task = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
p, t = statistics.median(plain), statistics.median(task)
print(f"{kind}: plain `exhunt hunt --case` median {p:.2f} s {plain}; as a fleet task median {t:.2f} s {task}; overhead {t - p:+.2f} s ({(t - p) / p * 100:+.1f}%)")
PY
done
stop_workers

echo "== throughput: $count small bundles (copies of the sample, one host each)"
for i in $(seq 1 "$count"); do cp -r "$small" "$work/b$i"; done
for n in 1 2; do
  start_workers "$n"
  name=bench-throughput-$n-$$
  "$bin/exhunt" fleet submit "$work"/b* --case-name "$name" --host-from-name >/dev/null
  s=$(fleet_seconds "$name")
  echo "$n worker process(es), $(( cores / n )) core(s) each: $count bundles in $s s: $(echo "scale=1; $count * 60 / $s" | bc) bundles/min"
  stop_workers
done
