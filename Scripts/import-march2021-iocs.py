#!/usr/bin/env python3
"""Rebuilds Rules/iocs/march2021.csv from the published March 2021 indicator feeds in ../shared/data.
Hashes, paths and addresses are facts; each row names the feed it came from. Run from the repo root."""
import csv, os, re, sys

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
rows = []

def add(kind, value, source):
    value = value.strip().replace("[.]", ".")
    if value:
        rows.append((kind, value, source))

with open(os.path.join(SHARED, "Azure__Azure-Sentinel/Sample Data/Feeds/MSTICIoCs-ExchangeServerVulnerabilitiesDisclosedMarch2021.csv"), newline="") as f:
    for r in csv.DictReader(f):
        kind = {"sha256": "sha256", "filepath": "filepath", "domainname": "domain"}.get(r["IndicatorType"].strip().lower())
        if kind:
            add(kind, r["Indicator"], "Microsoft MSTIC Exchange IoC feed, March 2021 (Azure-Sentinel)")
with open(os.path.join(SHARED, "volexity__threat-intel/2021/2021-03-02 - Operation Exchange Marauder/indicators/indicators.csv"), newline="") as f:
    for r in csv.DictReader(f):
        if r["type"].strip().lower() == "ipaddress":
            add("ip", r["value"], "Volexity, Operation Exchange Marauder, 2021-03-02")
text = open(os.path.join(SHARED, "cisagov__CHIRP/indicators/AA21-062A/AA21062A.yaml")).read()
block = re.search(r"ips: \|\n((?:    [0-9.]+\n)+)", text)
for ip in block.group(1).split():
    add("ip", ip, "CISA AA21-062A (CHIRP)")
for algo in ("sha256", "sha1", "md5"):
    for line in open(os.path.join(SHARED, f"eset__malware-ioc/exchange_exploitation/samples.{algo}")):
        if line.strip():
            add(algo, line.split()[0], "ESET, Exchange servers under siege, 2021-03-10")

seen = set()
out = os.path.join(os.path.dirname(__file__), "..", "Rules", "iocs", "march2021.csv")
with open(out, "w", newline="") as f:
    f.write("# Published indicators of the March 2021 Exchange attacks, one row per indicator and feed.\n")
    f.write("# Rebuilt by Scripts/import-march2021-iocs.py from the feeds named in the source column.\n")
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["type", "value", "source"])
    for r in rows:
        key = (r[0], r[1].lower(), r[2])
        if key not in seen:
            seen.add(key)
            w.writerow(r)
print(f"{len(seen)} indicators written to {out}", file=sys.stderr)
