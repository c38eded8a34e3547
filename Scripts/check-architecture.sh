#!/usr/bin/env bash
# Imports point down only: readers and detectors never know each other, and nothing below the
# engine imports it or the renderers. Fails naming the file that breaks the rule.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
  [HuntCore]="Foundation Glibc Musl Darwin"
  [DiskImages]="Foundation HuntCore CTSK CEWF Glibc Darwin"
  [NTFS]="Foundation HuntCore"
  [Baselines]="Foundation"
  [Evidence]="Foundation FoundationXML HuntCore Crypto ZIPFoundation SystemZlib DiskImages NTFS Glibc Musl Darwin"
  [ExchangeLogs]="Foundation HuntCore"
  [Sigma]="Foundation HuntCore Yams"
  [YARA]="Foundation CYara"
  [Indicators]="Foundation HuntCore Yams"
  [EVTX]="Foundation HuntCore SystemZlib"
  [EventExports]="Foundation FoundationXML HuntCore EVTX Yams"
  [Findings]="Foundation HuntCore Crypto"
  [WindowsEvents]="Foundation HuntCore EVTX Yams"
  [Verdicts]="Foundation HuntCore ExchangeBuilds Yams"
  [Hunt]="Foundation HuntCore Findings Baselines WindowsEvents Evidence ExchangeLogs EVTX EventExports Sigma YARA Indicators Verdicts ExchangeBuilds BuiltinRules Crypto"
  [Timeline]="Foundation HuntCore"
  [ExchangeBuilds]="Foundation HuntCore Yams"
  [Survey]="Foundation HuntCore Yams ExchangeBuilds NIOCore NIOPosix NIOHTTP1 NIOSSL NIOConcurrencyHelpers Glibc Darwin"
  [CaseStore]="Foundation HuntCore Indicators Timeline SQLKit SQLiteKit PostgresKit PostgresNIO Logging NIOCore NIOPosix Crypto"
  [Reports]="Foundation HuntCore Timeline CaseStore Rainbow Mustache Crypto"
  [RuleUpdates]="Foundation BuiltinRules HuntCore AsyncHTTPClient NIOCore NIOHTTP1 NIOSSL Crypto ZIPFoundation Yams Glibc Musl Darwin"
  [Dashboard]="Foundation HuntCore Timeline CaseStore Reports Hummingbird HummingbirdCore HummingbirdTLS HummingbirdAuth HummingbirdBcrypt HTTPTypes Mustache NIOCore NIOSSL Crypto Logging"
)
status=0
for module in "${!allowed[@]}"; do
  while IFS= read -r line; do
    file=${line%%:*}
    dep=$(sed -E 's/^[^:]*:[[:space:]]*(@preconcurrency[[:space:]]+)?(public[[:space:]]+|package[[:space:]]+)?import[[:space:]]+([A-Za-z_][A-Za-z0-9_]*).*/\3/' <<<"$line")
    if [[ " ${allowed[$module]} " != *" $dep "* ]]; then
      echo "architecture: $file imports $dep, which $module may not use" >&2
      status=1
    fi
  done < <(grep -HE '^[[:space:]]*(@preconcurrency[[:space:]]+)?(public[[:space:]]+|package[[:space:]]+)?import[[:space:]]' -r "Sources/$module" || true)
done
swift Scripts/check-traps.swift || status=1
exit $status
