#!/usr/bin/env bash
# Installs the system packages exhunt needs from Debian's packages, when they are missing:
#   always:   libyara-dev, zlib1g-dev, libtsk-dev, libewf-dev, pkg-config (the YARA engine, zlib, and
#             The Sleuth Kit with libewf, libvmdk and libvhdi for disk images, linked through
#             pkg-config), libvshadow1 and libregf1 (volume shadow copies, and the SYSTEM hive's
#             drive letters; loaded at run time)
#   --tests:  yara (the tests compare matches with its CLI), chromium (the HTML report is rendered
#             and checked in a real browser), python3 (reads exported CSV back with a standard reader)
#             and from PyPI evtx and mft (the Rust evtx and mft crates, the EVTX and $MFT parsers'
#             oracles) and pySigma with its SQLite backend and Windows/Sysmon pipelines (the Sigma
#             conformance test's peer);
#             redis-server and the Celery integration's pinned PyPI packages (the fleet tests);
#             ntfs-3g, qemu-utils and ewf-tools (the disk-image tests build NTFS volumes and convert
#             them to VMDK, VHD, VHDX and E01; sleuthkit's fls lists third-party images as their oracle;
#             libvshadow-utils' vshadowinfo and vshadowmount are the shadow copies' oracle, and
#             libhivex-bin's hivexsh reads the registry hive a test writes)
# Needs root or sudo on Debian/Ubuntu; elsewhere install libyara 4.x with the package manager.
set -euo pipefail
need=()
pkg-config --exists yara 2>/dev/null || need+=(libyara-dev pkg-config)
pkg-config --exists zlib 2>/dev/null || need+=(zlib1g-dev pkg-config)
pkg-config --exists tsk 2>/dev/null || need+=(libtsk-dev pkg-config)
pkg-config --exists libewf 2>/dev/null || need+=(libewf-dev pkg-config)
libraries=$({ /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null || true; })
grep -q 'libvshadow\.so\.1' <<<"$libraries" || need+=(libvshadow1)
grep -q 'libregf\.so\.1' <<<"$libraries" || need+=(libregf1)
if [ "${1:-}" = "--tests" ]; then
  command -v yara >/dev/null 2>&1 || need+=(yara)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v python3 >/dev/null 2>&1 || need+=(python3)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  command -v mkntfs >/dev/null 2>&1 || need+=(ntfs-3g)
  command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
  command -v ewfacquire >/dev/null 2>&1 || need+=(ewf-tools)
  command -v fls >/dev/null 2>&1 || need+=(sleuthkit)
  command -v vshadowmount >/dev/null 2>&1 || need+=(libvshadow-utils)
  command -v hivexsh >/dev/null 2>&1 || need+=(libhivex-bin)
fi
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "${1:-}" = "--tests" ] && ! python3 -c "import evtx, mft, pefile, sigma.backends.sqlite, sigma.pipelines.windows, sigma.pipelines.sysmon" 2>/dev/null; then
  # PyPI evtx (the Rust evtx crate) is the EVTX tests' oracle, PyPI mft (the Rust mft crate) the
  # $MFT parser's, pefile the version-resource reader's; pySigma's SQLite backend and its Windows and Sysmon pipelines are the Sigma
  # conformance test's peer (pinned: what was compared).
  peers=(evtx==0.14.0 mft==0.6.1 pefile==2024.8.26 pysigma==1.5.1 pysigma-backend-sqlite==2.0.0 pysigma-pipeline-windows==2.0.1 pysigma-pipeline-sysmon==2.0.0)
  python3 -m pip install -q "${peers[@]}" 2>/dev/null || python3 -m pip install -q --break-system-packages "${peers[@]}"
fi
if [ "${1:-}" = "--tests" ] && ! python3 -c "import celery, redis" 2>/dev/null; then
  # The Celery integration's own pins (Integrations/celery/requirements.txt), for the fleet tests.
  req="$(dirname "$0")/../Integrations/celery/requirements.txt"
  python3 -m pip install -q -r "$req" 2>/dev/null || python3 -m pip install -q --break-system-packages -r "$req"
fi
if [ "${1:-}" = "--tests" ] && [ "$(id -u)" -eq 0 ]; then
  # The case store's tests run on a real PostgreSQL too: Debian's server, on loopback
  # (without root they say they are skipped, and why).
  Scripts/postgres.sh >/dev/null || echo "setup: PostgreSQL could not be started; its case-store tests will be skipped" >&2
fi
