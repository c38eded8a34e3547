#!/usr/bin/env bash
# Disk-image benchmark: an NTFS image of SIZE GiB (sparse: only what is written takes space)
# holding an Exchange tree with LOGS MiB of HttpProxy logs and FILLER small files elsewhere (a
# system volume's Windows folders), hunted as an image; in the same run, the peers: TSK's
# `fls -r` over the image, `icat` of every log file, and exhunt on the same logs as a folder.
# Goal (issue 29): image hunt <= 1.3 x (folder hunt + fls -r), memory bounded whatever the size.
# Needs root (ntfs-3g through FUSE), mkntfs, sleuthkit.
# Usage: Benchmarks/bench-image.sh [SIZE_GiB] [LOGS_MiB] [FILLER_FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-20}
MIB=${2:-2048}
FILLER=${3:-50000}
. Benchmarks/prepare.sh
command -v mkntfs >/dev/null && command -v fls >/dev/null || { apt-get update -qq && apt-get install -y -qq ntfs-3g sleuthkit; }
LOGS=bench-data/httpproxy-${MIB}m
[ -d "$LOGS" ] || .build/release/exhunt-samplegen bench --out "$LOGS" --mib "$MIB"
IMG=bench-data/image-${SIZE}g-${MIB}m-${FILLER}.raw
if [ ! -f "$IMG" ]; then
  truncate -s "${SIZE}G" "$IMG.tmp"
  mkntfs -Q -q -F -L EXCH01 "$IMG.tmp"
  MNT=$(mktemp -d)
  ntfs-3g "$IMG.tmp" "$MNT" </dev/null >/dev/null 2>&1
  trap 'umount "$MNT" 2>/dev/null || true' EXIT
  mkdir -p "$MNT/Windows/System32" "$MNT/Program Files/Microsoft/Exchange Server/V15"
  cp -r "$LOGS"/* "$MNT/Program Files/Microsoft/Exchange Server/V15/" 2>/dev/null || cp -r "$LOGS" "$MNT/Program Files/Microsoft/Exchange Server/V15/Logging"
  # A system volume's many small files, which a listing walks and a hunt must skip.
  python3 - "$MNT" "$FILLER" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "Windows", "WinSxS", f"pkg{i // 200:04d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file{i}.dll"), "wb") as f:
        f.write(b"MZ" + bytes(510))
EOF
  umount "$MNT"; trap - EXIT; rmdir "$MNT"
  mv "$IMG.tmp" "$IMG"
fi
echo "image: $IMG ($(du -h "$IMG" | cut -f1) on disk, ${SIZE} GiB), logs: $MIB MiB, filler: $FILLER files"
measure() {  # name, command...: wall seconds and peak RSS
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o /tmp/bench-image.time "$@" >/dev/null 2>/tmp/bench-image.err || true
  read -r secs kb < <(tail -n 1 /tmp/bench-image.time)
  printf '%-44s %8.2f s %8d MiB\n' "$name" "$secs" "$((kb / 1024))"
  echo "$secs"  > "/tmp/bench-image.$name.secs"
}
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
measure fls fls -r -p "$IMG"
LOGINODES=$(fls -r -p "$IMG" | awk -F'\t' '/HttpProxy.*\.LOG$/ { split($1, a, " "); sub(":", "", a[2]); split(a[2], b, "-"); print b[1] }')
measure icat bash -c "for i in $(echo $LOGINODES | tr '\n' ' '); do icat '$IMG' \$i; done > /dev/null"
measure folder .build/release/exhunt hunt "$LOGS" --no-hash --quiet --no-progress -o /dev/null --window-start 2021-02-01
measure image .build/release/exhunt hunt "$IMG" --no-hash --quiet --no-progress -o /dev/null --window-start 2021-02-01
python3 - <<'EOF'
r = {n: float(open(f"/tmp/bench-image.{n}.secs").read()) for n in ["fls", "icat", "folder", "image"]}
print(f"image / (folder + fls -r) = {r['image'] / (r['folder'] + r['fls']):.2f}  (goal <= 1.3)")
print(f"image / (icat of the logs + fls -r) = {r['image'] / (r['icat'] + r['fls']):.2f}")
EOF
