#!/usr/bin/env bash
# Writes the fuzzing harnesses' seed corpora into DIR/<harness>/ from the project's own samples
# and rules (and the sample event logs in ../shared when it is there). Nothing is committed: the
# seeds are remade from what the repository holds.
# Usage: Scripts/fuzz-seeds.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: fuzz-seeds.sh DIR}
rm -rf "$dir"; mkdir -p "$dir"/{evtx,logs,sigma,iocs,kape,zip,http,exports,mft,usn,baselines,pe}

# A pipeline runs its last command in a subshell: names come from mktemp, not a counter.
seed() { cat > "$(mktemp "$dir/$1/seed-XXXXXX")"; }

# Logs: the head of one log of each kind the samples hold, and small whole ones.
while IFS= read -r -d '' f; do head -c 6000 "$f" | seed logs; done < <(
    find Samples -type f \( -iname '*.log' -o -iname '*.LOG' \) -size -64k -print0 | sort -z | awk 'BEGIN{RS="\0"; ORS="\0"} NR % 25 == 1')
printf '#Software: Microsoft Internet Information Services 10.0\n#Fields: date time c-ip cs-method cs-uri-stem sc-status\n2021-03-03 01:02:03 203.0.113.7 POST /ecp/x.js 200\n' | seed logs
printf '203.0.113.7, -, 3/3/21, 4:15:12, W3SVC1, EXCH01, 10.0.0.1, 31, 412, 1337, 200, 0, POST, /aspnet_client/x.aspx, a=1,\r\n' | seed logs
printf '203.0.113.7 - CORP\\a [03/Mar/2021:04:15:12 +0100] "POST /owa/auth/x.js?c=1 HTTP/1.1" 200 13 "-" "curl/7"\n' | seed logs
printf '#TYPE Selected.System.Management.Automation.PSCustomObject\n"DateTime","ClientIpAddress","AnchorMailbox","HttpStatus"\n"2021-03-03T01:02:03Z","203.0.113.7","ServerInfo~a]@x:444/ecp/proxyLogon.ecp?#","241"\n' | seed logs

# Sigma: the built-in rules.
while IFS= read -r -d '' f; do seed sigma < "$f"; done < <(find Rules/sigma -name '*.yml' -print0 | sort -z)

# Indicators: the first byte picks the reader (0 CSV, 1 STIX, 2 CHIRP YAML).
for f in Rules/iocs/*.csv; do { printf '\0'; head -c 4000 "$f"; } | seed iocs; done
{ printf '\1'; cat <<'JSON'; } | seed iocs
{"type":"bundle","id":"bundle--1","objects":[{"type":"indicator","id":"indicator--1","name":"web shell","pattern_type":"stix",
"pattern":"[file:hashes.'SHA-256' = '893cd3583b49cb706b3e55ecb2ed0757b977a21f5c72e041392d1256f31166e2'] OR [file:name = 'supp0rt.aspx'] OR [ipv4-addr:value = '203.0.113.7']"}]}
JSON
{ printf '\2'; cat <<'YAML'; } | seed iocs
name: network
ioc_type: network
indicator:
  ips: |
    203.0.113.7 198.51.100.9
---
name: a rule
ioc_type: yara
indicator:
  rule: |
    rule r { strings: $a = "Request.Item" condition: $a }
YAML

# KAPE copy logs.
find Samples -name '*_CopyLog.csv' -exec head -c 8000 {} \; | seed kape

# ZIP collections: small archives made from sample files, stored and deflated.
python3 - "$dir/zip" <<'PY'
import sys, zipfile, os, io
out = sys.argv[1]
files = []
for root, _, names in os.walk("Samples/compromised-server"):
    for n in sorted(names):
        p = os.path.join(root, n)
        if os.path.getsize(p) < 20000: files.append(p)
files = sorted(files)[:6]
import gzip
for i, method in enumerate([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]):
    with zipfile.ZipFile(os.path.join(out, f"seed-zip-{i}"), "w", method) as z:
        for p in files: z.write(p, os.path.relpath(p, "Samples"))
        # A compressed log, as administrators leave old ones.
        z.writestr("C/inetpub/logs/LogFiles/W3SVC1/u_ex210101.log.gz", gzip.compress(open(files[-1], "rb").read()))
PY

# The survey's HTTP responses: OWA's logon page with its version header and paths, the export
# tool's manifest, a redirect, a chunked body.
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-OWA-Version: 15.1.2176.2\r\nX-FEServer: EXCH01\r\nContent-Length: 120\r\n\r\n<html><title>Outlook</title><link href="/owa/auth/15.1.2176/themes/resources/owafont.css"><form name="logonForm"></form></html>' | seed http
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/x-ms-manifest\r\nContent-Length: 140\r\n\r\n<?xml version="1.0"?><asmv1:assembly manifestVersion="1.0"><assemblyIdentity name="ExportTool" version="15.2.792.3" /></asmv1:assembly>' | seed http
printf 'HTTP/1.1 302 Found\r\nLocation: https://mail.example.org/owa/auth/logon.aspx?url=x\r\nContent-Length: 0\r\n\r\n' | seed http
printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n/owa/\r\n6\r\nauth/1\r\n0\r\n\r\n' | seed http

# Exported events: one record of each shape, JSON Lines, an array, event XML (UTF-8 and UTF-16),
# and, with ../shared, the first lines of the real exports.
printf '{"event_record_id": 1, "timestamp": "2021-03-03T04:15:12.0Z UTC", "data": {"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": 4688, "TimeCreated": {"#attributes": {"SystemTime": "2021-03-03T04:15:12Z"}}, "Channel": "Security", "Computer": "EXCH01"}, "EventData": {"NewProcessName": "C:\\Windows\\System32\\cmd.exe", "Data": {"#text": ["a", "b"]}}}}}\n' | seed exports
printf '[{"winlog": {"event_id": "1", "channel": "Microsoft-Windows-Sysmon/Operational", "event_data": {"Image": "x"}}, "process": {"executable": "y"}, "@timestamp": "2021-03-03T04:15:12Z"},\n {"_source": {"event": {"code": "4688"}, "winlog": {"channel": "Security"}}}]\n' | seed exports
printf '{"System": {"EventID": {"Value": 1102}, "Channel": "Security", "TimeCreated": {"SystemTime": 1549731924.67}}, "UserData": {"LogFileCleared": {"SubjectUserName": "test"}}}\n{"TenantId": "t", "Type": "Event", "EventID": 1040, "EventLog": "Application", "EventData": "<DataItem><EventData><Data>x</Data><Data Name=\\"A\\">1</Data></EventData></DataItem>", "EventData_dynamic": "[\\"a\\"]"}\n{"EventID": 4689, "Channel": "Security", "Hostname": "W5", "TimeCreated": "2020-10-18 07:50:06.220"}\n' | seed exports
printf '<?xml version="1.0"?>\n<Events><Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="P"/><EventID Qualifiers="1">1000</EventID><TimeCreated SystemTime="2021-03-03T04:15:12.000Z"/><Channel>Application</Channel></System><EventData><Data Name="A">1</Data><Data>x\r\n</Data></EventData></Event>\n<Event><System><EventID>1</EventID></System><UserData><X><Y>z</Y></X></UserData></Event></Events>\n' | tee >(seed exports) | iconv -f UTF-8 -t UTF-16 | seed exports
if [ -d ../shared/data/generated/evtx_crate_json ]; then
    for f in ../shared/data/generated/evtx_crate_json/*.jsonl; do head -n 3 "$f" | seed exports; done
fi

# EVTX: the first chunks of the sample event logs, when ../shared is there.
if [ -d ../shared/data ]; then
    mapfile -t logs < <(find ../shared/data -name '*.evtx' | sort)
    for f in "${logs[@]:0:80}"; do
        dd if="$f" bs=4096 skip=1 count=32 status=none | seed evtx || true
    done
fi
# $MFT and change journals: Windows-made ones from ../shared (the first byte is the harness's
# chunk size), and an empty-ish seed without it.
printf '\x07FILE0' | seed mft
printf '\x05' | seed usn
if [ -d ../shared/data ]; then
    while IFS= read -r -d '' f; do { printf '\x91'; head -c 60000 "$f"; } | seed mft; done < <(
        find ../shared/data -type f \( -name '*.mft' -o -path '*mft/samples/*' -o -path '*win11/MFT' -o -name nonresident.raw \) -print0 | sort -z)
    while IFS= read -r -d '' f; do { printf '\x4f'; head -c 60000 "$f"; } | seed usn; done < <(
        find ../shared/data -type f \( -iname 'usn*.bin' -o -iname 'usnjrnl*.raw' \) -print0 | sort -z)
fi
# Baselines: a few lines of each of Microsoft's, and a made one.
printf '%s,15.1.2176.2,\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx\r\n' "$(printf 'A%.0s' $(seq 64))" | seed baselines
if [ -d ../shared/data/microsoft__CSS-Exchange ]; then
    for f in ../shared/data/microsoft__CSS-Exchange/Security/src/Baselines/*.csv; do head -n 40 "$f" | seed baselines; done
fi
# PE version resources: a PE32+ image laid out by the PE/COFF specification (headers, one .rsrc
# section, the version resource's tree and VS_VERSIONINFO), as PEVersionTests builds it.
python3 - <<'PY' | seed pe
import struct, sys
b = bytearray(0x400)
def p16(a, v): struct.pack_into("<H", b, a, v)
def p32(a, v): struct.pack_into("<I", b, a, v)
p16(0, 0x5A4D); p32(0x3C, 0x40); p32(0x40, 0x4550); p16(0x44, 0x8664); p16(0x46, 1); p16(0x54, 240)
o = 0x58; p16(o, 0x20B); p32(o + 108, 16); p32(o + 128, 0x1000); p32(o + 132, 0xB4)
s = o + 240; b[s:s + 5] = b".rsrc"; p32(s + 8, 0xB4); p32(s + 12, 0x1000); p32(s + 16, 0x200); p32(s + 20, 0x200)
r = 0x200
p16(r + 14, 1); p32(r + 16, 16); p32(r + 20, 0x80000018)
p16(r + 0x26, 1); p32(r + 0x28, 1); p32(r + 0x2C, 0x80000030)
p16(r + 0x3E, 1); p32(r + 0x40, 0x409); p32(r + 0x44, 0x48)
p32(r + 0x48, 0x1058); p32(r + 0x4C, 92)
v = r + 0x58; p16(v, 92); p16(v + 2, 52); b[v + 6:v + 36] = "VS_VERSION_INFO".encode("utf-16-le")
f = v + 40; p32(f, 0xFEEF04BD); p32(f + 8, (15 << 16) | 1); p32(f + 12, (2176 << 16) | 2)
sys.stdout.buffer.write(bytes(b))
PY
echo "seeds: $(for h in evtx logs sigma iocs kape zip http exports mft usn baselines pe; do printf '%s=%s ' $h "$(ls "$dir/$h" | wc -l)"; done)"
