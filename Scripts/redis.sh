#!/usr/bin/env bash
# Starts Redis from Debian's packages on loopback (127.0.0.1:6379), the Celery broker for trying
# `exhunt fleet` on one machine, installing it when missing. Prints the broker URL. Idempotent: a
# running server is reused. (The fleet tests start brokers of their own on other ports.)
set -euo pipefail
exec 3>&1 1>&2
# The server must not inherit fd 3 (the caller's $(...) pipe), or the caller waits for ever.
detached() { "$@" 3>&- </dev/null; }
if ! command -v redis-server >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then echo "redis-server is not installed; run as root or: apt-get install redis-server" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive detached apt-get install -y -qq redis-server >/dev/null
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  # Loopback only, no persistence: the queue is rebuilt by submitting again, the case store keeps the state.
  detached redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
echo "redis://127.0.0.1:6379/0" >&3
