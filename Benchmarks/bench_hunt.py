#!/usr/bin/env python3
"""Hunt benchmark: times `exhunt hunt`, `rg -c 'ServerInfo~'` and a Python csv port of
Test-ProxyLogon's 26855 filter on the same ~1 GiB of generated HttpProxy logs, in one run, and
prints wall time, throughput and peak memory for each. Run through Benchmarks/bench-hunt.sh."""
import os, resource, subprocess, sys, time

def run(cmd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out.decode(errors="replace")

def main():
    exhunt, data, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(data) for f in fs)
    # Warm the page cache so every tool reads from memory.
    for d, _, fs in os.walk(data):
        for f in fs:
            with open(os.path.join(d, f), "rb") as fh:
                while fh.read(1 << 24):
                    pass
    hunt = [exhunt, "hunt", data, "--no-progress", "-o", "/dev/null", "--quiet", "--window-start", "2021-02-01"]
    tools = [
        ("exhunt hunt (SHA-256 manifest)", hunt),
        ("exhunt hunt --no-hash", hunt + ["--no-hash"]),
        ("exhunt hunt --no-hash --no-ip-iocs", hunt + ["--no-hash", "--no-ip-iocs"]),
        # No report and no store: nothing would read the seen client addresses, so none are counted.
        ("exhunt ... console only (no -o)", [a for a in hunt if a not in ("-o", "/dev/null")] + ["--no-hash", "--no-ip-iocs"]),
        ("rg -c ServerInfo~", ["rg", "-c", "ServerInfo~", data]),
    ]
    # The same hunt with SigmaHQ's whole web and windows rule sets loaded beside the built-in ones:
    # what thousands of rules cost on the log side.
    sigma = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "SigmaHQ__sigma", "rules")
    if os.path.isdir(sigma):
        tools.append(("exhunt ... + SigmaHQ web+windows rules", hunt + ["--no-hash", "--no-ip-iocs", "--rules", os.path.join(sigma, "web"),
                                                                      "--rules", os.path.join(sigma, "windows")]))
    tools += [
        ("python csv (Test-ProxyLogon 26855)", [sys.executable, os.path.join(os.path.dirname(__file__), "tpl_26855.py"), data]),
    ]
    print(f"data: {size / 2**20:.0f} MiB in {sum(len(fs) for _, _, fs in os.walk(data))} files; {os.cpu_count()} cores; best of {repeats}")
    results = {}
    for name, cmd in tools:
        runs = [run(cmd) for _ in range(repeats if not name.startswith("python") else 1)]
        best = min(runs, key=lambda r: r[0])
        results[name] = best
        print(f"  {name:38s} {best[0]:8.2f} s  {size / 2**20 / best[0]:8.0f} MiB/s  peak RSS {best[1]:7.0f} MiB  exit {best[2]}")
    ex, fast = results["exhunt hunt (SHA-256 manifest)"][0], results["exhunt hunt --no-hash --no-ip-iocs"][0]
    rg, py = results["rg -c ServerInfo~"][0], results["python csv (Test-ProxyLogon 26855)"][0]
    print(f"exhunt rules alone (--no-hash --no-ip-iocs, client addresses kept for the report) / ripgrep time: {fast / rg:.2f}x (target <= 2x)")
    print(f"exhunt console only (addresses not counted) / ripgrep time: {results['exhunt ... console only (no -o)'][0] / rg:.2f}x")
    print(f"exhunt with SHA-256 / ripgrep:   {ex / rg:.2f}x (hashing every byte costs what it costs)")
    print(f"python / exhunt rules alone:     {py / fast:.1f}x (target >= 30x)")
    print(f"python / exhunt default:         {py / ex:.1f}x (default also hashes every byte and checks indicator addresses)")
    if "exhunt ... + SigmaHQ web+windows rules" in results:
        many = results["exhunt ... + SigmaHQ web+windows rules"][0]
        count = len(subprocess.run([exhunt, "rules", "list", "--rules", os.path.join(sigma, "web"), "--rules", os.path.join(sigma, "windows")],
                                   capture_output=True, text=True).stdout.strip().splitlines())
        print(f"SigmaHQ web+windows rules loaded ({count} rules listed) / built-in alone: {many / fast:.1f}x slower")

if __name__ == "__main__":
    main()
