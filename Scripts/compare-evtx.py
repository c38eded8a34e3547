#!/usr/bin/env python3
"""Compares `exhunt evtx dump` with the Python evtx package (the Rust evtx crate) record by record.
Usage: compare-evtx.py EXHUNT FILE...   Prints per file: records, equal, different, missing; exit 1 on any difference."""
import json, subprocess, sys
from evtx import PyEvtxParser

def oracle(path):
    out = {}
    try:
        it = PyEvtxParser(path).records_json()
        while True:
            try:
                r = next(it)
            except StopIteration:
                break
            except Exception:
                continue
            out[r["event_record_id"]] = json.loads(r["data"])
    except Exception as e:
        print(f"  oracle failed: {e}")
    return out

def ours(exhunt, path):
    p = subprocess.run([exhunt, "evtx", "dump", path], capture_output=True, text=True)
    out = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        out[r["event_record_id"]] = r["data"]
    return out, p.stderr.count("\n")

def main():
    exhunt, files = sys.argv[1], sys.argv[2:]
    bad = 0
    for f in files:
        o = oracle(f)
        m, problems = ours(exhunt, f)
        same = sum(1 for k in o if k in m and m[k] == o[k])
        diff = [k for k in o if k in m and m[k] != o[k]]
        missing = [k for k in o if k not in m]
        extra = [k for k in m if k not in o]
        print(f"{f.split('/')[-1]}: oracle {len(o)}, exhunt {len(m)}, equal {same}, different {len(diff)}, missing {len(missing)}, extra {len(extra)}, problems {problems}")
        if diff and "-v" in sys.argv[0:1] + [a for a in sys.argv if a == "-v"]:
            pass
        if diff:
            k = diff[0]
            print("  first difference, record", k)
            print("   oracle:", json.dumps(o[k])[:700])
            print("   exhunt:", json.dumps(m[k])[:700])
        bad += len(diff) + len(missing)
    sys.exit(1 if bad else 0)

if __name__ == "__main__":
    main()
