#!/usr/bin/env bash
# Installs the system packages exhunt builds and tests with: libyara (YARA engine, linked through
# pkg-config) and the yara command (the tests compare matches with it). Needs root (or sudo) on
# Debian/Ubuntu; on other systems install libyara 4.x with the package manager.
set -euo pipefail
need=()
pkg-config --exists yara 2>/dev/null || need+=(libyara-dev pkg-config)
command -v yara >/dev/null 2>&1 || need+=(yara)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
