#!/usr/bin/env python3
"""A straightforward Python port of Test-ProxyLogon.ps1's CVE-2021-26855 check, the peer in the
hunt benchmark: for every HttpProxy log containing 'ServerInfo~' (its Select-String -Quiet
prefilter), read it as CSV with the first line as header (Import-Csv), and keep rows whose
AnchorMailbox is like 'ServerInfo~*/*' but not '*/autodiscover*' nor 'ServerInfo~localhost*/*'."""
import csv, fnmatch, os, sys

def like(value, pattern):
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())

def main(root):
    hits = 0
    for dirpath, _, files in os.walk(root):
        if "httpproxy" not in dirpath.lower():
            continue
        for name in files:
            if not name.lower().endswith(".log"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8", errors="replace", newline="") as f:
                if "ServerInfo~" not in f.read():
                    continue
            with open(path, encoding="utf-8", errors="replace", newline="") as f:
                for row in csv.DictReader(f):
                    a = row.get("AnchorMailbox") or ""
                    if like(a, "ServerInfo~*/*") and not like(a, "ServerInfo~*/autodiscover*") \
                            and not like(a, "ServerInfo~localhost*/*"):
                        hits += 1
    print(hits)

if __name__ == "__main__":
    main(sys.argv[1])
