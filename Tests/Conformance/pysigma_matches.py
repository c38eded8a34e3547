"""The peer side of exhunt's Sigma conformance test: which events each Sigma rule matches, as
pySigma's SQLite backend (the engine Zircolite runs) with its Windows and Sysmon pipelines says.

Usage: pysigma_matches.py RULES_DIR EVTX_DIR OUT.jsonl

Events are the Rust evtx crate's records (PyPI evtx) of every .evtx under EVTX_DIR, flattened to
the field names exhunt gives Windows events (EventID, Provider_Name, Channel, Computer, Level,
EventRecordID, ..., EventData and UserData values by name, unnamed Data values as Data), one
SQLite row each, compared case-insensitively as Sigma compares. Writes one JSON object per line:
{"rule": id, "file": path relative to EVTX_DIR, "record": event record id}, and on the last line
{"summary": {...}} with how many rules converted and why the others did not.
"""
import json
import os
import re
import sqlite3
import sys

from evtx import PyEvtxParser
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.pipelines.sysmon import sysmon_pipeline
from sigma.pipelines.windows import windows_logsource_pipeline

SYSTEM_FIELDS = ["EventID", "Version", "Level", "Task", "Opcode", "Keywords", "EventRecordID", "Channel", "Computer"]


def text(v):
    if isinstance(v, dict):
        if "#text" in v:
            return text(v["#text"])
        return None
    if isinstance(v, list):
        return " ".join(t for t in (text(x) for x in v) if t is not None)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def leaves(node, out):
    """UserData and nested EventData: every leaf element by its name."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "#attributes":
                continue
            if isinstance(v, dict) and "#text" not in v:
                leaves(v, out)
            else:
                t = text(v)
                if t is not None:
                    out[k] = t


def flatten(event):
    e = event.get("Event") or {}
    system = e.get("System") or {}
    row = {}
    for f in SYSTEM_FIELDS:
        if f in system:
            t = text(system[f])
            if t is not None:
                row[f] = t
    provider = (system.get("Provider") or {}).get("#attributes") or {}
    if "Name" in provider:
        row["Provider_Name"] = provider["Name"]
    if "Guid" in provider:
        row["Provider_Guid"] = provider["Guid"]
    data = e.get("EventData")
    if isinstance(data, dict):
        for k, v in data.items():
            if k == "#attributes":
                continue
            if k == "Data":
                # Unnamed Data values, joined as exhunt joins them.
                t = text(v)
                if t is not None:
                    row["Data"] = t
            elif isinstance(v, dict) and "#text" not in v:
                leaves(v, row)
            else:
                t = text(v)
                if t is not None:
                    row[k] = t
                    if " " in k:
                        row[k.replace(" ", "")] = t
    user = e.get("UserData")
    if isinstance(user, dict):
        leaves(user, row)
    return row


def main():
    rules_dir, evtx_dir, out_path = sys.argv[1:4]
    rows = []
    for root, _, names in sorted(os.walk(evtx_dir)):
        for n in sorted(names):
            if not n.lower().endswith(".evtx"):
                continue
            path = os.path.join(root, n)
            rel = os.path.relpath(path, evtx_dir)
            try:
                it = PyEvtxParser(path).records_json()
            except Exception:
                continue
            while True:
                try:
                    r = next(it)
                except StopIteration:
                    break
                except Exception:
                    continue
                row = flatten(json.loads(r["data"]))
                row["_file"] = rel
                row["_record"] = str(r["event_record_id"])
                rows.append(row)
    # Field names compare without case, in exhunt as in SQLite: one column per name whatever its case.
    spelling = {}
    for r in rows:
        for k in r:
            spelling.setdefault(k.lower(), k)
    rows = [{k.lower(): v for k, v in r.items()} for r in rows]
    columns = sorted(spelling)
    db = sqlite3.connect(":memory:")
    db.create_function("regexp", 2, lambda p, v: v is not None and re.search(p, v) is not None, deterministic=True)
    # Sigma compares case-insensitively: every column collates without case (the backend's LIKE
    # already does, its = would not).
    db.execute("CREATE TABLE logs (" + ", ".join(f'"{c}" TEXT COLLATE NOCASE' for c in columns) + ")")
    db.executemany("INSERT INTO logs (" + ", ".join(f'"{c}"' for c in columns) + ") VALUES (" + ", ".join("?" for _ in columns) + ")",
                   [[r.get(c) for c in columns] for r in rows])
    known = set(columns)  # lowercased
    backend = sqliteBackend(processing_pipeline=sysmon_pipeline() + windows_logsource_pipeline())
    summary = {"events": len(rows), "rules": 0, "converted": 0, "not_converted": 0, "query_errors": 0}
    with open(out_path, "w") as out:
        for root, _, names in sorted(os.walk(rules_dir)):
            for n in sorted(names):
                if not n.endswith(".yml"):
                    continue
                summary["rules"] += 1
                try:
                    collection = SigmaCollection.from_yaml(open(os.path.join(root, n), encoding="utf-8").read())
                    rule = collection.rules[0]
                    queries = backend.convert(collection)
                except Exception:
                    summary["not_converted"] += 1
                    continue
                summary["converted"] += 1
                for q in queries:
                    # A field no event has is a column the table lacks: it is NULL everywhere.
                    for name in set(re.findall(r"`?\b([A-Za-z_][A-Za-z0-9_.-]*)`?\s*(?:=|LIKE|IS|REGEXP|<|>|IN\b|NOT\b)", q)):
                        if name.lower() not in known and name.upper() not in ("AND", "OR", "NOT", "NULL", "ESCAPE"):
                            db.execute(f'ALTER TABLE logs ADD COLUMN "{name}" TEXT COLLATE NOCASE')
                            known.add(name.lower())
                    try:
                        for f, rec in db.execute(q.replace("SELECT * FROM", "SELECT _file, _record FROM", 1)):
                            out.write(json.dumps({"rule": str(rule.id), "file": f, "record": int(rec)}) + "\n")
                    except sqlite3.Error as e:
                        summary["query_errors"] += 1
                        sys.stderr.write(f"{n}: {e}\n")
        out.write(json.dumps({"summary": summary}) + "\n")


main()
