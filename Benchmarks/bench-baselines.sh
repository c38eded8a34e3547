#!/usr/bin/env bash
# Baseline benchmark (issue 34): FILES web files under Exchange's FrontEnd\HttpProxy and
# ClientAccess folders (scripts, styles, pages, a few DLL-sized files), a baseline of build
# 15.1.2176.2 listing them (one in 200 altered, one in 500 unknown), hunted with and without
# --baselines; in the same run the peer, `sha256sum` over the same files (one process, and two
# in parallel as exhunt's two workers). Goal: comparing costs at most the hashing it needs.
# Usage: Benchmarks/bench-baselines.sh [FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-50000}
. Benchmarks/prepare.sh
DATA=bench-data/baselines-$FILES
if [ ! -d "$DATA" ]; then
  python3 - "$DATA" "$FILES" <<'PY'
import hashlib, os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
random.seed(34)
v15 = os.path.join(root, "EXCH01/C/Program Files/Microsoft/Exchange Server/V15")
folders = ["FrontEnd/HttpProxy/owa/auth/15.1.2176.2/scripts", "FrontEnd/HttpProxy/owa/15.1.2176.2/scripts/premium",
           "FrontEnd/HttpProxy/ecp/15.1.2176.2/scripts", "ClientAccess/Owa/prem/15.1.2176.2/resources/styles",
           "ClientAccess/ecp/15.1.2176.2/scripts", "ClientAccess/Owa/bin", "ClientAccess/ecp/pages"]
exts = ["js"] * 6 + ["css"] * 2 + ["aspx", "dll", "htm", "ashx"]
os.makedirs(os.path.join(root, "baselines"), exist_ok=True)
lines = []
for i in range(n):
    folder = folders[i % len(folders)]
    ext = exts[i % len(exts)]
    size = 200000 if ext == "dll" and i % 50 == 0 else random.randint(800, 24000)
    body = (f"/* exhunt benchmark file {i} */\n".encode() + os.urandom(size // 2).hex().encode())[:size]
    rel = f"{folder}/file{i}.{ext}"
    path = os.path.join(v15, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(body)
    if i % 500 == 7:
        continue                                  # unknown: in no baseline
    digest = hashlib.sha256(body if i % 200 != 3 else body + b"x").hexdigest().upper()   # modified
    lines.append(f"{digest},15.1.2176.2,\\{rel.replace('/', chr(92)).replace('15.1.2176.2', 'version')}")
with open(os.path.join(root, "baselines/baseline_15.1.2176.2.csv"), "w") as f:
    f.write("\r\n".join(lines) + "\r\n")
PY
fi
TREE="$DATA/EXCH01"
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
# Warm the page cache once for everyone: every tool below reads the same cached bytes.
find "$TREE" -type f -print0 | xargs -0 cat > /dev/null
t() { local s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; echo "$(date +%s.%N) - $s" | bc; }
peak() { { /usr/bin/time -f %M "$@" 2>&1 >/dev/null || true; } | tail -1; }
sha1=$(t sh -c "find '$TREE' -type f -print0 | xargs -0 sha256sum")
sha2=$(t sh -c "find '$TREE' -type f -print0 | xargs -0 -P2 -n 2000 sha256sum")
plain=$(t .build/release/exhunt hunt "$TREE" -j 2 --quiet --no-progress --host EXCH01 -o /tmp/bench-baselines-plain.json)
with=$(t .build/release/exhunt hunt "$TREE" -j 2 --quiet --no-progress --host EXCH01 --baselines "$DATA/baselines" -o /tmp/bench-baselines.json)
mem=$(peak .build/release/exhunt hunt "$TREE" -j 2 --quiet --no-progress --host EXCH01 --baselines "$DATA/baselines" -o /tmp/bench-baselines.json)
python3 - "$FILES" "$sha1" "$sha2" "$plain" "$with" "$mem" <<'PY'
import json, sys
n, sha1, sha2, plain, with_, mem = sys.argv[1], *map(float, sys.argv[2:6]), int(sys.argv[6])
r = json.load(open("/tmp/bench-baselines.json"))
kinds = {}
for f in r["findings"]:
    kinds[f["rule"]["title"]] = kinds.get(f["rule"]["title"], 0) + 1
print(f"{n} web files: sha256sum {sha1:.2f} s (1 process), {sha2:.2f} s (2 in parallel)")
print(f"exhunt hunt -j 2: {plain:.2f} s without baselines, {with_:.2f} s with --baselines ({mem // 1024} MiB peak)")
print(f"with baselines / sha256sum x2 = {with_ / sha2:.2f}; the comparison's own cost: {with_ - plain:+.2f} s")
for k, v in sorted(kinds.items()):
    print(f"  {v:6}  {k}")
PY
