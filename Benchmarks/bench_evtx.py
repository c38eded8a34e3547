#!/usr/bin/env python3
"""EVTX benchmark: builds two large .evtx files from real logs (one big Security log: the chunks
of security.evtx repeated; and a mix: every chunk of every sample log under ../shared/data,
repeated) and prints, in one run, the throughput of `exhunt evtx dump` and of the Python evtx
package's records_json() (the Rust evtx crate) on the same file, with one and with two threads,
then the hunt's throughput on the first."""
import os, struct, subprocess, sys, time, zlib

def write_evtx(chunks, target):
    """An .evtx of these chunks behind a valid file header (chunk count and header CRC set)."""
    header = bytearray(4096)
    header[:8] = b"ElfFile\0"
    count = len(chunks)
    struct.pack_into("<QQQIHHHH", header, 8, 0, count - 1, 0, 128, 1, 3, 4096, count & 0xFFFF)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(header)
        for c in chunks:
            f.write(c)

def chunks_of(path):
    data = open(path, "rb").read()
    if not data.startswith(b"ElfFile\0"):
        return []
    return [data[i:i + 65536] for i in range(4096, len(data), 65536)
            if len(data) >= i + 65536 and data[i:i + 8] == b"ElfChnk\0"]

def build(source, target, repeat):
    """One real log's chunks, repeated: a big Security.evtx."""
    if not os.path.exists(target):
        write_evtx(chunks_of(source) * repeat, target)

def build_mixed(shared, target, repeat):
    """Every chunk of every sample log under ../shared/data (222 logs of many channels and
    Windows versions, some damaged), repeated: templates of every kind, chunks mostly not full."""
    if not os.path.exists(target):
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(shared) for f in fs if f.endswith(".evtx"))
        write_evtx([c for f in files for c in chunks_of(f)] * repeat, target)

def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start

def records(target, threads):
    from evtx import PyEvtxParser
    n = errors = 0
    it = PyEvtxParser(target, number_of_threads=threads).records_json()
    while True:
        try:
            next(it)
            n += 1
        except StopIteration:
            return n, errors
        except Exception:
            # A damaged record: the crate reports it and goes on, as exhunt does.
            errors += 1

def compare(exhunt, title, target, repeats):
    size = os.path.getsize(target) / 2**20
    open(target, "rb").read()
    count = sum(1 for _ in subprocess.run([exhunt, "evtx", "dump", target], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.splitlines())
    crate_count, crate_errors = records(target, 1)
    print(f"{title}: {size:.0f} MiB, {count:,} records (the crate: {crate_count:,} records, {crate_errors} errors); best of {repeats}")
    def ours(j):
        return lambda: subprocess.run([exhunt, "evtx", "dump", "-j", str(j), target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    def crate(j):
        return lambda: records(target, j)
    results = {}
    for name, fn in [("exhunt evtx dump -j 1", ours(1)), ("python evtx records_json(), 1 thread", crate(1)),
                     ("exhunt evtx dump -j 2", ours(2)), ("python evtx records_json(), 2 threads", crate(2))]:
        best = min(timed(fn) for _ in range(repeats))
        results[name] = best
        print(f"  {name:40s} {best:6.2f} s  {size / best:7.1f} MiB/s  {count / best / 1000:7.0f}k records/s")
    print(f"  one core:  exhunt / evtx crate throughput {results['python evtx records_json(), 1 thread'] / results['exhunt evtx dump -j 1']:.2f}x (target >= 1)")
    print(f"  two cores: exhunt / evtx crate throughput {results['python evtx records_json(), 2 threads'] / results['exhunt evtx dump -j 2']:.2f}x (target >= 1.7)")

def main():
    exhunt, source, target, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
    build(source, target, 100)
    compare(exhunt, f"{os.path.basename(source)} chunks x100", target, repeats)
    # MIXED_REPEAT=40: runs four times longer, so a process's start (some 25 ms for exhunt, none
    # for the crate, which runs inside this Python process) and the machine's noise weigh less.
    times = int(os.environ.get("MIXED_REPEAT", "10"))
    mixed = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(target))), "evtx-mixed", f"samples-x{times}.evtx")
    build_mixed(shared, mixed, times)
    compare(exhunt, f"every sample log's chunks x{times}", mixed, repeats)
    # Hunting the first file's events with rules: the built-in set, then SigmaHQ's windows rules
    # too (Hayabusa publishes about 22 MB/s end to end with ~4,000 rules).
    size = os.path.getsize(target) / 2**20
    sigma = os.path.join(shared, "SigmaHQ__sigma", "rules", "windows")
    folder = os.path.dirname(os.path.abspath(target))
    hunt = [exhunt, "hunt", folder, "--no-progress", "--quiet", "--no-hash"]
    print(f"hunting {os.path.basename(source)} chunks x100:")
    for name, cmd in [("exhunt hunt, built-in rules, 2 cores", hunt),
                      ("exhunt hunt + SigmaHQ windows rules, 2 cores", hunt + ["--rules", sigma])]:
        if "--rules" in cmd and not os.path.isdir(sigma):
            continue
        best = min(timed(lambda: subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)) for _ in range(repeats))
        print(f"  {name:40s} {best:6.2f} s  {size / best:7.1f} MiB/s")

if __name__ == "__main__":
    main()
