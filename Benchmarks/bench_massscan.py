#!/usr/bin/env python3
"""Mass-scan benchmark (run through Benchmarks/bench-massscan.sh): one hunt over logs full of
scanner probes with every report written, its peak RSS and time, the size of each report, and in
the same run ripgrep counting the probes and sha256sum over the same bytes on the same cores."""
import os, subprocess, sys, tempfile
from bench_hunt import run

def main():
    exhunt, data = sys.argv[1], sys.argv[2]
    files = [os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs]
    size = sum(os.path.getsize(f) for f in files)
    cores = os.cpu_count()
    print(f"data: {size / 2**30:.1f} GiB in {len(files)} files; {cores} cores")
    out = tempfile.mkdtemp(prefix="exhunt-massscan-")
    reports = {"JSON report": "report.json", "HTML report": "report.html", "--hits": "hits.jsonl", "timeline CSV": "timeline.csv"}
    paths = {k: os.path.join(out, v) for k, v in reports.items()}
    hunt = [exhunt, "hunt", data, "--no-progress", "--quiet", "--window-start", "2021-02-01", "-o", paths["JSON report"],
            "--html", paths["HTML report"], "--timeline", paths["timeline CSV"]]
    t, rss, status, _ = run(hunt)
    print(f"  exhunt hunt (SHA-256, JSON + HTML + timeline)     {t:8.2f} s  {size / 2**20 / t:6.0f} MiB/s  peak RSS {rss:6.0f} MiB  exit {status}  (target <= 200 MiB)")
    for name in ["JSON report", "HTML report", "timeline CSV"]:
        print(f"      {name:14s} {os.path.getsize(paths[name]) / 2**20:9.2f} MiB" + ("  (target <= 20 MiB)" if name == "JSON report" else ""))
    t2, rss2, status2, _ = run(hunt + ["--hits", paths["--hits"], "--tpl-csv", os.path.join(out, "tpl")])
    tpl = sum(os.path.getsize(os.path.join(out, "tpl", f)) for f in os.listdir(os.path.join(out, "tpl")))
    print(f"  exhunt hunt ... + --hits + --tpl-csv (every hit)  {t2:8.2f} s  {size / 2**20 / t2:6.0f} MiB/s  peak RSS {rss2:6.0f} MiB  exit {status2}")
    print(f"      --hits         {os.path.getsize(paths['--hits']) / 2**20:9.2f} MiB, Test-ProxyLogon files {tpl / 2**20:.2f} MiB")
    tr, rssr, _, rgout = run(["rg", "-c", "ServerInfo~localhost", data])
    counted = sum(int(l.rsplit(":", 1)[1]) for l in rgout.splitlines() if ":" in l)
    print(f"  rg -c ServerInfo~localhost                         {tr:8.2f} s  {size / 2**20 / tr:6.0f} MiB/s  peak RSS {rssr:6.0f} MiB  ({counted} probe lines)")
    ts, _, _, _ = run(["sh", "-c", f"find '{data}' -type f -print0 | xargs -0 -n 8 -P {cores} sha256sum > /dev/null"])
    print(f"  sha256sum, {cores} processes (a manifest's floor)     {ts:8.2f} s  {size / 2**20 / ts:6.0f} MiB/s")
    print(f"exhunt / SHA-256 alone: {t / ts:.2f}x (target <= 1.2x); exhunt / ripgrep: {t / tr:.2f}x")
    # What the report says, read last: the peers above are forked from this process, and a child
    # starts with its parent's resident pages (the report's 200,000 addresses would count as theirs).
    import json
    with open(paths["JSON report"]) as fh:
        r = json.load(fh)
    probes = [f for f in r["findings"] if "localhost or autodiscover" in f["rule"]["title"]]
    print(f"      verdict {r['verdict']}; {len(r['findings'])} findings for {r['stats']['hits']} hits; "
          f"probe findings {len(probes)} holding {sum(f['count'] for f in probes)} hits")
    # The addresses behind them, as the aggregated findings count them.
    for f in probes[:3]:
        s = f.get("spread")
        if s:
            top = ", ".join(f"{c['value']} ({c['hits']})" for c in s["top"][:3])
            print(f"      {f['group']}: {s['distinct']} distinct {s['field']}{' (estimated)' if s['estimated'] else ''}; most hits {top}")
    if size < 4 << 30:
        # In a process of its own, to keep this one small.
        count = "import sys; print(len(set(l.split(',')[17] for p in sys.argv[1:] for l in open(p, errors='replace') if 'ServerInfo~localhost' in l)))"
        truth = subprocess.run([sys.executable, "-c", count] + files, capture_output=True, text=True).stdout.strip()
        print(f"      distinct probe addresses in the logs (counted by Python): {truth}")

def zip_case(exhunt, root):
    """The issue's collection: a small .zip holding a 300 MiB .aspx of zeros in a web folder and a
    150 MB IIS log of probes; built once with Python's zipfile (deflate)."""
    import zipfile
    path = os.path.join(root, "zipped-collection.zip")
    if not os.path.exists(path):
        os.makedirs(root, exist_ok=True)
        line = "2021-03-03 04:05:06 10.0.0.10 GET /owa/auth/x.js - 443 - 198.18.{a}.{b} Mozilla/5.0+zgrab/0.x - 500 0 0 3\r\n"
        with zipfile.ZipFile(path + ".part", "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("C/inetpub/wwwroot/aspnet_client/padded.aspx", "w", force_zip64=True) as f:
                block = bytes(1 << 20)
                for _ in range(300):
                    f.write(block)
            with z.open("C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", "w", force_zip64=True) as f:
                f.write(b"#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Fields: date time s-ip "
                        b"cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status "
                        b"sc-substatus sc-win32-status time-taken\r\n")
                written, i = 0, 0
                while written < 150_000_000:
                    chunk = "".join(line.format(a=(i + k) % 200, b=(i + k) % 250 + 1) for k in range(1000)).encode()
                    f.write(chunk)
                    written += len(chunk)
                    i += 1000
        os.rename(path + ".part", path)
    out = tempfile.mkdtemp(prefix="exhunt-zipcase-")
    report = os.path.join(out, "report.json")
    t, rss, status, _ = run([exhunt, "hunt", path, "--no-progress", "--quiet", "-o", report])
    import json
    with open(report) as fh:
        r = json.load(fh)
    notes = [p["message"] for p in r["problems"] if p["code"] == "not-content-scanned"]
    print(f"zip collection ({os.path.getsize(path) / 2**20:.1f} MiB: 300 MiB .aspx of zeros + 150 MB IIS log of probes)")
    print(f"  exhunt hunt   {t:6.2f} s  peak RSS {rss:6.0f} MiB  exit {status}  verdict {r['verdict']}; "
          f"{len(r['findings'])} findings for {r['stats']['hits']} hits; JSON report {os.path.getsize(report) / 2**20:.2f} MiB")
    for n in notes:
        print(f"  problem: {n}")

if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "--zip-only":
        zip_case(sys.argv[1], sys.argv[2])
    else:
        main()
        # A fresh process, for the same reason: its peak RSS is the hunt's, not the parent's.
        subprocess.run([sys.executable, os.path.abspath(__file__), sys.argv[1],
                        os.path.join(os.path.dirname(sys.argv[2].rstrip("/")), "zip-case"), "--zip-only"], check=False)
