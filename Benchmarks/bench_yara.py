#!/usr/bin/env python3
"""YARA benchmark: builds a web-root-like tree (thousands of small .aspx/.js/.css pages and some
large binaries) and prints, in one run, the wall time of the yara CLI (`yara -r -p N`) and of
exhunt's file scan (`exhunt hunt --no-builtin-rules --yara ... --scan-all -j N`, which also
SHA-256-hashes every file for the manifest) with the same rule files and threads."""
import os, random, subprocess, sys, time

def make_tree(root, small=6000, large=16):
    if os.path.isdir(root):
        return
    rnd = random.Random(11)
    words = ("function var return Page_Load Response Write div class span table tr td input form button "
             "script link href src style width height margin padding color background owa ecp auth logon "
             "Microsoft Exchange Server HttpProxy resources themes premium scripts").split()
    for i in range(small):
        ext = rnd.choice(["aspx", "js", "css", "htm", "ashx", "config"])
        d = os.path.join(root, "inetpub", "wwwroot", f"site{i % 40}", f"dir{i % 17}")
        os.makedirs(d, exist_ok=True)
        n = rnd.randint(1_000, 24_000)
        body = []
        size = 0
        while size < n:
            w = " ".join(rnd.choice(words) for _ in range(12))
            line = f"<div class=\"{rnd.choice(words)}\">{w}</div>\n" if ext in ("aspx", "htm") else f"{w};\n"
            body.append(line)
            size += len(line)
        with open(os.path.join(d, f"page{i}.{ext}"), "w") as f:
            if ext == "aspx":
                f.write('<%@ Page Language="C#" AutoEventWireup="true" %>\n')
            f.write("".join(body))
    bindir = os.path.join(root, "inetpub", "wwwroot", "bin")
    os.makedirs(bindir, exist_ok=True)
    for i in range(large):
        with open(os.path.join(bindir, f"assembly{i}.dll"), "wb") as f:
            f.write(b"MZ" + rnd.randbytes(6 * 1024 * 1024))

def timed(cmd):
    start = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return time.perf_counter() - start, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

def main():
    exhunt, rules_dir, tree, threads, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    make_tree(tree)
    rules = sorted(os.path.join(d, f) for d, _, fs in os.walk(rules_dir) for f in fs if f.endswith((".yar", ".yara")))
    files = sum(len(fs) for _, _, fs in os.walk(tree))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tree) for f in fs)
    ext = sum((["-d", f"{v}="] for v in ("filename", "filepath", "extension", "filetype", "owner")), [])
    yara = ["yara", "-r", "-w", "-p", str(threads)] + ext + rules + [tree]
    ours = [exhunt, "hunt", tree, "--no-builtin-rules", "--yara", rules_dir, "--scan-all", "-j", str(threads),
            "--no-progress", "--quiet", "-o", "/dev/null"]
    for d, _, fs in os.walk(tree):
        for f in fs:
            with open(os.path.join(d, f), "rb") as fh:
                fh.read()
    print(f"tree: {files} files, {size / 2**20:.0f} MiB; {len(rules)} rule files; {threads} threads; best of {repeats}")
    results = {}
    for name, cmd in (("yara -r", yara), ("exhunt hunt (YARA + SHA-256)", ours)):
        best = min((timed(cmd) for _ in range(repeats)), key=lambda r: r[0])
        results[name] = best
        matches = len(best[2].splitlines()) if name.startswith("yara") else "-"
        print(f"  {name:30s} {best[0]:7.2f} s  exit {best[1]}  matches printed: {matches}")
    y, e = results["yara -r"][0], results["exhunt hunt (YARA + SHA-256)"][0]
    print(f"exhunt / yara time: {e / y:.2f}x (target <= 1.10x)")

if __name__ == "__main__":
    main()
