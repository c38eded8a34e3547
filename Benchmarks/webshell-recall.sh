#!/usr/bin/env bash
# Recall and false positives on exhunt's web-shell corpus (Tests/Corpus/webshells), in one table:
# exhunt's hunt with its built-in rules (files with a finding at medium or above), the same hunt
# with signature-base's YARA added (--yara), and signature-base's YARA alone through the yara CLI.
# Usage: Benchmarks/webshell-recall.sh [SIGNATURE_BASE_YARA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
SB=${1:-../shared/data/Neo23x0__signature-base/yara}
command -v yara >/dev/null || Scripts/setup.sh --tests
swift build -c release --product exhunt >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The corpus laid out as a server would hold it: every page in an ordinary IIS site's folder,
# where pages are content-checked (not Exchange's folders, where the baselines would judge them).
mkdir -p "$work/C/inetpub/wwwroot/intranet"
cp -r Tests/Corpus/webshells/shells Tests/Corpus/webshells/benign "$work/C/inetpub/wwwroot/intranet/"
.build/release/exhunt hunt "$work/C" --host recall -o "$work/builtin.json" >/dev/null 2>&1 || true
.build/release/exhunt hunt "$work/C" --host recall --yara "$SB" -o "$work/with-sb.json" >/dev/null 2>&1 || true
for f in "$SB"/*.yar "$SB"/*.yara; do [ -e "$f" ] && echo "include \"$(realpath "$f")\""; done > "$work/sb.yar"
yara -w -r -d filename= -d filepath= -d extension= -d filetype= -d owner= "$work/sb.yar" "$work/C" > "$work/sb.txt" || true
python3 - "$work" <<'PY'
import json, os, sys, collections
work = sys.argv[1]
root = os.path.join(work, "C/inetpub/wwwroot/intranet")
ranks = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
def flagged(report):
    r = json.load(open(os.path.join(work, report)))
    out = collections.defaultdict(set)
    for f in r["findings"]:
        if ranks.get(f["severity"], 0) < 2: continue
        for loc in [f["evidence"]] + f.get("samples", []):
            p = loc.get("path", "").replace("\\", "/")
            out[p.split("/intranet/", 1)[-1]].add((f["rule"]["id"], f["role"]))
    return out
builtin, withsb = flagged("builtin.json"), flagged("with-sb.json")
sb = collections.defaultdict(set)
for line in open(os.path.join(work, "sb.txt")):
    rule, _, path = line.strip().partition(" ")
    sb[path.split("/intranet/", 1)[-1]].add(rule)
rows = []
for group in sorted(os.listdir(os.path.join(root, "shells"))) + ["benign"]:
    folder = os.path.join(root, "benign") if group == "benign" else os.path.join(root, "shells", group)
    files = sorted(os.path.relpath(os.path.join(folder, n), root) for n in os.listdir(folder))
    decides = lambda hits: any(role == "compromised" for _, role in hits)
    rows.append((group, len(files),
                 sum(1 for f in files if builtin.get(f)), sum(1 for f in files if decides(builtin.get(f, ()))),
                 sum(1 for f in files if sb.get(f)), sum(1 for f in files if decides(withsb.get(f, ())))))
print(f"{'family (shells/<rule>) or benign':44} {'files':>5} {'exhunt':>7} {'decides':>8} {'sig-base':>9} {'both:decides':>13}")
for g, n, a, d, s, w in rows:
    print(f"{g:44} {n:5} {a:7} {d:8} {s:9} {w:13}")
shells = [r for r in rows if r[0] != "benign"]
tot = lambda i: sum(r[i] for r in shells)
print(f"{'shells, all':44} {tot(1):5} {tot(2):7} {tot(3):8} {tot(4):9} {tot(5):13}")
print("exhunt: files with a finding at medium or above (built-in rules); decides: one weighing compromised;")
print("sig-base: files signature-base's YARA matches (yara CLI); both:decides: exhunt with --yara signature-base, files decided.")
benign = [r for r in rows if r[0] == "benign"][0]
for f in sorted(os.listdir(os.path.join(root, "benign"))):
    p = "benign/" + f
    if builtin.get(p) or sb.get(p) or withsb.get(p):
        print(f"  benign {f}: exhunt {sorted(builtin.get(p, ()))} sig-base {sorted(sb.get(p, ()))} with --yara {sorted(withsb.get(p, ()))}")
PY
