#!/usr/bin/env bash
# The case store at fleet scale, on SQLite and on PostgreSQL, with the peer's figure in the
# same run: the same rows loaded through each engine's own bulk path (Python's sqlite3
# executemany in one transaction; psql's \copy), the floor any ingester on that engine pays.
#   Benchmarks/bench-case.sh [HOSTS FINDINGS CLIENTS]     (default 1000 1000 5000: 1M findings, 5M addresses)
#   ENGINES=sqlite (or postgres) runs one engine only.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-1000}; findings=${2:-1000}; clients=${3:-5000}
swift build -c release --product exhunt-bench-case >/dev/null
bin=$(swift build -c release --show-bin-path)/exhunt-bench-case
work=$(mktemp -d /tmp/exhunt-bench-case.XXXXXX)
trap 'rm -rf "$work"' EXIT

engines=${ENGINES:-sqlite postgres}
if [[ " $engines " == *" sqlite "* ]]; then
echo "== exhunt, SQLite"
"$bin" "$work/fleet.db" "$hosts" "$findings" "$clients"
size=$(stat -c %s "$work/fleet.db")
echo "store: $((size / 1048576)) MiB, $((size / hosts / 1024)) KiB per host"

echo "== peer, SQLite: the same rows by python3 sqlite3 executemany"
python3 - "$work/peer.db" "$hosts" "$findings" "$clients" <<'PY'
import sqlite3, sys, time, json, uuid
path, hosts, per, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE findings (run_id TEXT, ord INTEGER, host TEXT, rule_id TEXT, role TEXT, first_ms INTEGER, hits INTEGER, path TEXT, body TEXT, PRIMARY KEY (run_id, ord))")
db.execute("CREATE TABLE seen (run_id TEXT, host TEXT, kind TEXT, value TEXT, first_ms INTEGER, hits INTEGER, PRIMARY KEY (run_id, kind, value))")
db.execute("CREATE INDEX seen_v ON seen (kind, value, host)")
start = time.time(); rows = 0
for h in range(hosts):
    run = "run%d" % h
    body = lambda i: json.dumps({"rule": {"id": "rule-%d" % (i % 40)}, "excerpt": "2021-03-01T01:02:03.000Z,%s,ServerInfo~a]@ex:444/autodiscover/autodiscover.xml?#,ExchangeServicesClient/0.0.0.0" % uuid.uuid4(), "group": {"ClientIpAddress": "198.18.%d.%d" % (i % 200, i % 250)}, "count": 3})
    with db:
        db.executemany("INSERT INTO findings VALUES (?,?,?,?,?,?,?,?,?)", ((run, i, "h%d" % h, "rule-%d" % (i % 40), "attempted", 1614470400000 + i, 3, "Logging/HttpProxy/Ecp/x.LOG", body(i)) for i in range(per)))
        db.executemany("INSERT INTO seen VALUES (?,?,?,?,?,?)", ((run, "h%d" % h, "address", "10.%d.%d.%d" % (h % 250, c // 250, c % 250), 1614470400000, 3) for c in range(clients)))
    rows += per + clients
s = time.time() - start
print("peer ingest: %d rows in %.1f s: %.0f rows/s" % (rows, s, rows / s))
PY
fi

if [[ " $engines " != *" postgres "* ]]; then :
elif url=$(Scripts/postgres.sh 2>/dev/null); then
  echo "== exhunt, PostgreSQL ($url)"
  "$bin" "$url" "$hosts" "$findings" "$clients"
  pgsize=$(psql "${url%%\?*}" -qtAc "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'")
  echo "database (all bench cases so far): $((pgsize / 1048576)) MiB"
  echo "== peer, PostgreSQL: the same rows by psql \\copy"
  python3 - "$work/f.csv" "$work/s.csv" "$hosts" "$findings" "$clients" <<'PY'
import csv, sys, json, uuid
f, s, hosts, per, clients = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
with open(f, "w", newline="") as out:
    w = csv.writer(out)
    for h in range(hosts):
        for i in range(per):
            w.writerow(["run%d" % h, i, "h%d" % h, "rule-%d" % (i % 40), "attempted", 1614470400000 + i, 3, "x.LOG",
                        json.dumps({"excerpt": "2021-03-01T01:02:03.000Z,%s,ServerInfo~a]@ex:444/x" % uuid.uuid4(), "group": {"ClientIpAddress": "198.18.%d.%d" % (i % 200, i % 250)}})])
with open(s, "w", newline="") as out:
    w = csv.writer(out)
    for h in range(hosts):
        for c in range(clients):
            w.writerow(["run%d" % h, "h%d" % h, "address", "10.%d.%d.%d" % (h % 250, c // 250, c % 250), 1614470400000, 3])
PY
  psql "${url%%\?*}" -q <<SQL
DROP TABLE IF EXISTS peer_findings; DROP TABLE IF EXISTS peer_seen;
CREATE TABLE peer_findings (run_id TEXT, ord BIGINT, host TEXT, rule_id TEXT, role TEXT, first_ms BIGINT, hits BIGINT, path TEXT, body TEXT, PRIMARY KEY (run_id, ord));
CREATE TABLE peer_seen (run_id TEXT, host TEXT, kind TEXT, value TEXT, first_ms BIGINT, hits BIGINT, PRIMARY KEY (run_id, kind, value));
CREATE INDEX peer_seen_v ON peer_seen (kind, value, host);
SQL
  t=$(date +%s.%N)
  psql "${url%%\?*}" -q -c "\\copy peer_findings FROM '$work/f.csv' CSV" -c "\\copy peer_seen FROM '$work/s.csv' CSV"
  e=$(date +%s.%N)
  python3 -c "import sys; rows=$hosts*($findings+$clients); s=$e-$t; print('peer ingest: %d rows in %.1f s: %.0f rows/s' % (rows, s, rows/s))"
  psql "${url%%\?*}" -q -c "DROP TABLE peer_findings; DROP TABLE peer_seen;"
else
  echo "== PostgreSQL not available (Scripts/postgres.sh needs root): skipped"
fi
