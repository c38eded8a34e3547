#!/usr/bin/env python3
"""EVTX benchmark: builds a large .evtx from the chunks of a real sample (security.evtx, repeated)
and prints, in one run, the throughput of `exhunt evtx dump` and of the Python evtx package's
records_json() (the Rust evtx crate) on the same file, with one and with two threads."""
import os, struct, subprocess, sys, time, zlib

def build(source, target, repeat):
    if os.path.exists(target):
        return
    data = open(source, "rb").read()
    chunks = [data[i:i + 65536] for i in range(4096, len(data), 65536) if data[i:i + 8] == b"ElfChnk\0"]
    header = bytearray(data[:4096])
    count = len(chunks) * repeat
    struct.pack_into("<QQ", header, 8, 0, count - 1)
    struct.pack_into("<H", header, 42, count & 0xFFFF)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(header)
        for _ in range(repeat):
            for c in chunks:
                f.write(c)

def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start

def main():
    exhunt, source, target, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    build(source, target, 100)
    size = os.path.getsize(target) / 2**20
    open(target, "rb").read()
    def ours(j):
        return lambda: subprocess.run([exhunt, "evtx", "dump", "-j", str(j), target], stdout=subprocess.DEVNULL, check=True)
    def crate(j):
        from evtx import PyEvtxParser
        def run():
            for _ in PyEvtxParser(target, number_of_threads=j).records_json():
                pass
        return run
    print(f"file: {size:.0f} MiB ({os.path.basename(source)} chunks x100); best of {repeats}")
    rows = [("exhunt evtx dump -j 1", ours(1)), ("python evtx records_json(), 1 thread", crate(1)),
            ("exhunt evtx dump -j 2", ours(2)), ("python evtx records_json(), 2 threads", crate(2))]
    results = {}
    for name, fn in rows:
        best = min(timed(fn) for _ in range(repeats))
        results[name] = best
        print(f"  {name:40s} {best:6.2f} s  {size / best:7.1f} MiB/s")
    # Hunting the same events with rules: the built-in set, then SigmaHQ's windows rules too
    # (Hayabusa publishes about 22 MB/s end to end with ~4,000 rules).
    sigma = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "SigmaHQ__sigma", "rules", "windows")
    folder = os.path.dirname(os.path.abspath(target))
    hunt = [exhunt, "hunt", folder, "--no-progress", "--quiet", "--no-hash"]
    for name, cmd in [("exhunt hunt, built-in rules, 2 cores", hunt),
                      ("exhunt hunt + SigmaHQ windows rules, 2 cores", hunt + ["--rules", sigma])]:
        if "--rules" in cmd and not os.path.isdir(sigma):
            continue
        best = min(timed(lambda: subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)) for _ in range(repeats))
        print(f"  {name:40s} {best:6.2f} s  {size / best:7.1f} MiB/s")
    print(f"one core:  exhunt / evtx crate throughput {results['python evtx records_json(), 1 thread'] / results['exhunt evtx dump -j 1']:.2f}x (target >= 1)")
    print(f"two cores: exhunt / evtx crate throughput {results['python evtx records_json(), 2 threads'] / results['exhunt evtx dump -j 2']:.2f}x (target > 1)")

if __name__ == "__main__":
    main()
