import Foundation
import HuntCore
import Testing
@testable import ExchangeLogs
import HuntCore
import TestSupport

/// Runs a scanner over `bytes`, fed in chunks of `chunk` bytes, and returns what it emitted.
func scan(_ bytes: [UInt8], format: LogFormat? = nil, literals: [String]? = nil, chunk: Int = 1 << 20,
          maxLine: Int = 16 << 20) -> (lines: [LogScanner.Line], scanner: LogScanner) {
    let fmt = format ?? LogFormat.sniff(bytes) ?? .text
    var s = LogScanner(format: fmt, path: "test.log", literals: literals, maxLineLength: maxLine)
    var out: [LogScanner.Line] = []
    var i = 0
    while i < bytes.count {
        let end = min(bytes.count, i + chunk)
        s.feed(Array(bytes[i..<end])) { out.append($0) }
        i = end
    }
    s.finish { out.append($0) }
    return (out, s)
}

func value(_ line: LogScanner.Line, _ name: String) -> String? {
    line.fields.first { $0.name.lowercased() == name.lowercased() }?.value
}

let proxyColumns = "DateTime,RequestId,Protocol,UrlStem,AuthenticatedUser,AnchorMailbox,UserAgent,ClientIpAddress,HttpStatus,GenericInfo"

func proxyLog(_ rows: [String], bare: Bool = true, eol: String = "\r\n") -> [UInt8] {
    var text = bare ? proxyColumns + eol : ""
    text += "#Software: Microsoft Exchange Server\(eol)#Version: 15.01.2176.002\(eol)#Log-type: HttpProxy Logs\(eol)"
    text += "#Date: 2021-03-01T00:00:00.000Z\(eol)#Fields: \(proxyColumns)\(eol)"
    for r in rows { text += r + eol }
    return Array(text.utf8)
}

@Suite(.timeLimit(.minutes(20))) struct LogScannerTests {
    let attack = "2021-03-02T05:03:04.123Z,r1,Ecp,/ecp/y.js,,ServerInfo~a]@ex01.corp.local:444/mapi/emsmdb/?#,python-requests/2.25.1,165.232.154.116,200,\"BeginRequest=x;a,b\"\"c\""
    let normal = "2021-03-02T05:03:05.000Z,r2,Owa,/owa/,CORP\\alice,Sid~S-1-5-21-1,Mozilla/5.0,10.0.0.5,200,"

    @Test func sniffRecognisesExchangeIISAndText() {
        #expect(LogFormat.sniff(proxyLog([normal])) == .exchangeCSV(logType: "HttpProxy Logs"))
        let iis = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Fields: date time cs-uri-stem\r\n"
        #expect(LogFormat.sniff(Array(iis.utf8)) == .w3c)
        #expect(LogFormat.sniff(Array("2021-02-28T01:05:02Z,Thread 12,Download failed\r\n".utf8)) == .text)
        #expect(LogFormat.sniff([0x4D, 0x5A, 0x90, 0, 3, 0, 0, 0]) == nil)
    }

    @Test func countsEveryLinesClientAddressWhateverTheQuotingAndChunks() {
        // A quoted user agent with commas and quotes before the address column must not shift it.
        let tricky = "2021-03-02T06:00:01.000Z,r3,Ecp,/ecp/,,,\"Mozilla/5.0 (a, b) \"\"x\"\"\",198.51.100.7,200,"
        let rows = [normal, attack, attack, tricky, normal, "2021-03-02T07:10:00.000Z,r4,Owa,/owa/,,,-,[2001:db8::1]:443,200,"]
        for chunk in [7, 64, 1 << 20] {
            var s = LogScanner(format: .exchangeCSV(logType: nil), path: "t.log", literals: ["ServerInfo~"])
            s.clientFields = ["clientipaddress", "c-ip"]
            let bytes = proxyLog(rows)
            var i = 0
            while i < bytes.count { s.feed(Array(bytes[i..<min(bytes.count, i + chunk)])) { _ in }; i += chunk }
            s.finish { _ in }
            let clients = s.clientAddresses()
            #expect(Set(clients.keys) == ["10.0.0.5", "165.232.154.116", "198.51.100.7", "[2001:db8::1]:443"], "chunk \(chunk)")
            #expect(clients["165.232.154.116"]?.lines == 2)
            #expect(clients["10.0.0.5"]?.lines == 2)
            let h5 = Int32(Timestamp.parse("2021-03-02T05:00:00Z").map { $0.timeIntervalSince1970 / 3600 } ?? 0)
            #expect(clients["10.0.0.5"]?.first == h5 && clients["10.0.0.5"]?.last == h5)
            #expect(clients["[2001:db8::1]:443"]?.first == h5 + 2)
        }
        // IIS: c-ip by the #Fields line; a non-address value is not kept.
        let iis = "#Fields: date time s-ip cs-method cs-uri-stem c-ip\r\n2021-03-02 05:00:00 10.0.0.1 GET /owa/ 203.0.113.9\r\n2021-03-02 05:00:01 10.0.0.1 GET /owa/ not-an-ip\r\n"
        var w = LogScanner(format: .w3c, path: "u.log", literals: nil)
        w.clientFields = ["clientipaddress", "c-ip"]
        w.feed(Array(iis.utf8)) { _ in }
        w.finish { _ in }
        #expect(Array(w.clientAddresses().keys) == ["203.0.113.9"])
    }

    @Test func mapsColumnsByHeaderNameAndUnquotesFields() {
        let (lines, s) = scan(proxyLog([normal, attack]))
        #expect(lines.count == 2)
        #expect(s.dataLines == 2)
        let a = lines[1]
        #expect(value(a, "clientipaddress") == "165.232.154.116")
        #expect(value(a, "ClientIPAddress") == "165.232.154.116")
        #expect(value(a, "GenericInfo") == "BeginRequest=x;a,b\"c")
        #expect(a.number == 8)
        #expect(a.timestamp == Timestamp.parse("2021-03-02T05:03:04.123Z"))
        #expect(s.earliest == Timestamp.parse("2021-03-02T05:03:04.123Z"))
        #expect(s.latest == Timestamp.parse("2021-03-02T05:03:05.000Z"))
    }

    @Test func literalPrefilterEmitsOnlyCandidateLinesButCountsAll() {
        let rows = (0..<500).map { _ in normal } + [attack] + (0..<500).map { _ in normal }
        let (lines, s) = scan(proxyLog(rows), literals: ["serverinfo~"])
        #expect(lines.count == 1)
        #expect(lines[0].number == 507) // 1 bare header + 5 directives + 500 rows before it
        #expect(s.dataLines == 1001)
    }

    @Test func chunkBoundariesDoNotChangeTheResult() {
        let bytes = proxyLog([normal, attack, normal, attack])
        let whole = scan(bytes, literals: ["ServerInfo~"])
        for chunk in [1, 2, 3, 7, 64, 333] {
            let pieces = scan(bytes, literals: ["ServerInfo~"], chunk: chunk)
            #expect(pieces.lines.map(\.number) == whole.lines.map(\.number), "chunk \(chunk)")
            #expect(pieces.lines.map(\.offset) == whole.lines.map(\.offset), "chunk \(chunk)")
            #expect(pieces.scanner.dataLines == whole.scanner.dataLines)
        }
    }

    @Test func handlesBOMAndLFOnly() {
        let bytes = [0xEF, 0xBB, 0xBF] + proxyLog([attack], eol: "\n")
        let (lines, _) = scan(bytes, format: .exchangeCSV(logType: nil))
        #expect(lines.count == 1)
        #expect(value(lines[0], "AnchorMailbox")?.hasPrefix("ServerInfo~") == true)
    }

    @Test func repeatedFieldsBlockMidFileChangesColumns() {
        var text = String(decoding: proxyLog([attack]), as: UTF8.self)
        // A 2013-era block with other columns and ClientIPAddress spelled differently.
        text += "#Software: Microsoft Exchange Server\r\n#Fields: DateTime,ClientIPAddress,AnchorMailbox\r\n"
        text += "2021-03-03T01:00:00.000Z,1.2.3.4,ServerInfo~b]@x:444/ecp/proxyLogon.ecp?#\r\n"
        let (lines, _) = scan(Array(text.utf8), literals: ["serverinfo~"])
        #expect(lines.count == 2)
        #expect(value(lines[1], "ClientIpAddress") == "1.2.3.4")
        #expect(value(lines[1], "AnchorMailbox") == "ServerInfo~b]@x:444/ecp/proxyLogon.ecp?#")
    }

    @Test func truncatedLastLineIsReadAndReported() {
        var bytes = proxyLog([normal])
        bytes += Array("2021-03-02T06:00:00.000Z,r3,Ecp,/ecp/y.js,,ServerInfo~a]@x:444/ecp/proxyLogon.e".utf8)
        let (lines, s) = scan(bytes, literals: ["serverinfo~"])
        #expect(lines.count == 1)
        #expect(s.problems.contains { $0.code == "truncated-last-line" && $0.line == 8 })
    }

    @Test func invalidUTF8IsReplacedAndReported() {
        var bytes = proxyLog([])
        bytes += Array("2021-03-02T06:00:00.000Z,r3,Ecp,/ecp/y.js,,ServerInfo~a]@x:444/x".utf8) + [0xFF, 0xFE] + Array("#,ua,1.1.1.1,200,\r\n".utf8)
        let (lines, s) = scan(bytes, literals: ["serverinfo~"])
        #expect(lines.count == 1)
        #expect(value(lines[0], "AnchorMailbox")?.contains("\u{FFFD}") == true)
        #expect(s.problems.contains { $0.code == "invalid-utf8" && $0.line == 7 && $0.path == "test.log" })
    }

    @Test func tenMegabyteLineIsParsedAndOverlongLineSkipped() {
        let big = String(repeating: "A", count: 10 << 20)
        let row = "2021-03-02T06:00:00.000Z,r3,Ecp,/ecp/y.js,,ServerInfo~a]@x:444/x#,\(big),1.1.1.1,200,"
        let (lines, _) = scan(proxyLog([row, attack]), literals: ["serverinfo~"], chunk: 1 << 20)
        #expect(lines.count == 2)
        #expect(value(lines[0], "UserAgent")?.count == 10 << 20)
        let (limited, s) = scan(proxyLog([row, attack]), literals: ["serverinfo~"], chunk: 1 << 20, maxLine: 1 << 20)
        #expect(limited.count == 1)
        #expect(limited[0].number == 8)
        #expect(s.problems.contains { $0.code == "line-too-long" && $0.line == 7 })
    }

    @Test func unterminatedQuoteIsReported() {
        let row = "2021-03-02T06:00:00.000Z,r3,Ecp,/ecp/y.js,,\"ServerInfo~a]@x:444/x#,ua"
        let (lines, s) = scan(proxyLog([row]), literals: ["serverinfo~"])
        #expect(lines.count == 1)
        #expect(s.problems.contains { $0.code == "unterminated-quote" })
    }

    @Test func w3cLogsMapFieldsAndDashMeansEmpty() {
        let text = """
        #Software: Microsoft Internet Information Services 10.0\r
        #Version: 1.0\r
        #Date: 2021-03-01 00:00:00\r
        #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r
        # Default traces of a tool\r
        \r
        2021-03-01 04:21:07 10.0.0.10 POST /aspnet_client/supp0rt.aspx &CorrelationID=<empty>;&cafeReqId=abc; 443 - 165.232.154.116 antSword/v2.1 - 200 0 0 31\r

        """
        let (lines, s) = scan(Array(text.utf8))
        #expect(lines.count == 1)
        #expect(value(lines[0], "cs-uri-stem") == "/aspnet_client/supp0rt.aspx")
        #expect(value(lines[0], "cs-username") == "")
        #expect(value(lines[0], "cs(User-Agent)") == "antSword/v2.1")
        #expect(lines[0].timestamp == Timestamp.parse("2021-03-01T04:21:07Z"))
        #expect(s.dataLines == 1)
    }

    @Test(.enabled(if: hasSharedData, "needs ../shared")) func realIISLogFromSharedDataParses() throws {
        let data = try Data(contentsOf: sharedData.appendingPathComponent("sbousseaden__EVTX-ATTACK-SAMPLES/Command and Control/Tunna_rdp_tunnel_IIS.log"))
        let (lines, s) = scan(Array(data), literals: nil)
        #expect(s.problems.filter { $0.code != "field-count" }.isEmpty, "\(s.problems)")
        #expect(lines.count == s.dataLines)
        #expect(lines.count > 4000)
        #expect(lines.allSatisfy { $0.timestamp != nil })
        #expect(lines.contains { value($0, "cs-uri-stem")?.isEmpty == false })
    }
}

@Suite(.timeLimit(.minutes(20))) struct LiteralFinderTests {
    /// Every match the finder reports is a real match, and it misses none (per line), against
    /// a naive search over random text built from the needle's own bytes.
    @Test func agreesWithNaiveSearchOnRandomText() {
        // Seeded, so a failure can be made again.
        print("seed 20210303")
        var rng = SplitMix(seed: 20210303)
        for needle in ["ServerInfo~", "abc", "Download failed", "/ecp/", "a", "~~"] {
            let alphabet = Array(Set(Array(needle.utf8) + Array(needle.uppercased().utf8) + [10, 32]))
            for _ in 0..<50 {
                let text = (0..<400).map { _ in alphabet.randomElement(using: &rng)! }
                let lowerText = text.map(LiteralFinder.fold)
                let lowerNeedle = Array(needle.lowercased().utf8)
                var naive: [Int] = []
                if text.count >= lowerNeedle.count {
                    for i in 0...(text.count - lowerNeedle.count) where Array(lowerText[i..<i + lowerNeedle.count]) == lowerNeedle {
                        naive.append(i)
                    }
                }
                var found: [Int] = []
                text.withUnsafeBufferPointer { p in
                    LiteralFinder(needle).forEachMatch(in: p.baseAddress!, count: p.count) { s in found.append(s); return s + 1 }
                }
                #expect(found == naive, "\(needle)")
            }
        }
    }
}

@Suite(.timeLimit(.minutes(20))) struct LiteralSetTests {
    /// The lines a literal set finds are exactly the lines containing any of its literals.
    @Test func findsExactlyTheLinesContainingAnyLiteral() {
        // Seeded, so a failure can be made again.
        print("seed 20210304")
        var rng = SplitMix(seed: 20210304)
        // The built-in HttpProxy set and small ones take the packed-pair filter; a one-byte
        // literal and a set of more than `maxPairs` take the anchor groups.
        let many = (0..<14).map { "k\($0 % 10)=\($0)" }
        let sets = [["serverinfo~", "server~", "server~localhost", "virtualdirectory#"], ["abc", "ABD", "b~c"], ["x"],
                    ["email%3dautodiscover", "email=autodiscover", "powershell", "x-rps-cat=", "^~"], many]
        #expect(!LiteralSet(sets[0]).pairs.isEmpty && LiteralSet(["x"]).pairs.isEmpty && LiteralSet(many).pairs.isEmpty)
        for literals in sets {
            let alphabet = Array(Set(literals.joined().utf8 + Array(literals.joined().uppercased().utf8))) + [10, 10, 32]
            for round in 0..<60 {
                // Lengths around the vector loop's edges as well as long texts.
                let text = (0..<(round < 20 ? round * 3 : 600 + round)).map { _ in alphabet.randomElement(using: &rng)! }
                let lines = text.split(separator: 10, omittingEmptySubsequences: false)
                var expected = Set<Int>()
                var offset = 0
                for line in lines {
                    let lower = String(decoding: line.map(LiteralFinder.fold), as: UTF8.self)
                    if literals.contains(where: { lower.contains($0.lowercased()) }) { expected.insert(offset) }
                    offset += line.count + 1
                }
                var found = Set<Int>()
                text.withUnsafeBufferPointer { p in
                    guard p.count > 0 else { return }
                    LiteralSet(literals).forEachMatch(in: p.baseAddress!, count: p.count) { s in
                        found.insert(LogScanner.lineStart(p.baseAddress!, before: s))
                        return (LogScanner.indexOfNewline(p.baseAddress!, s, p.count) ?? p.count) + 1
                    }
                }
                #expect(found == expected, "\(literals)")
            }
        }
    }
}

@Suite(.timeLimit(.minutes(20))) struct ClientFieldTests {
    /// The word-at-a-time field finder agrees with the exact reader on random lines of
    /// separators, quotes and text, for every column.
    @Test func quickFieldAgreesWithTheExactReader() {
        print("seed 20210305")
        var rng = SplitMix(seed: 20210305)
        let alphabet = Array("ab1.:,, \"".utf8)
        for _ in 0..<3000 {
            let line = (0..<Int.random(in: 0...70, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            line.withUnsafeBufferPointer { p in
                let base = p.baseAddress ?? UnsafePointer(bitPattern: 8)!
                for csv in [true, false] {
                    for column in 0..<12 {
                        let exact = LogScanner.field(base, 0..<p.count, column, csv: csv)
                        let quick = LogScanner.quickField(base, 0..<p.count, column, csv: csv)
                        #expect(quick == exact, "\(String(decoding: line, as: UTF8.self)) column \(column) csv \(csv)")
                    }
                }
            }
        }
    }

    /// The table counts what a dictionary would, keeps at most its limit and says how many it dropped.
    @Test func clientTableCountsLikeADictionaryAndStaysBounded() {
        var table = ClientTable(limit: 5000)
        var naive: [String: (lines: Int, first: Int32, last: Int32)] = [:]
        var rng = SplitMix(seed: 20210306)
        for n in 0..<40_000 {
            let address = "10.\(Int.random(in: 0..<4, using: &rng)).\(Int.random(in: 0..<40, using: &rng)).\(Int.random(in: 0..<40, using: &rng))"
            let hour = Int32(n / 1000)
            let bytes = Array(address.utf8)
            bytes.withUnsafeBufferPointer { table.add($0, lines: 2, first: hour, last: hour) }
            if let old = naive[address] {
                naive[address] = (old.lines + 2, min(old.first, hour), max(old.last, hour))
            } else if naive.count < 5000 {
                naive[address] = (2, hour, hour)
            }
        }
        let counts = table.counts()
        #expect(counts.count == 5000 && table.dropped > 0)
        #expect(counts.count == naive.count)
        for (address, c) in naive {
            #expect(counts[address]?.lines == c.lines && counts[address]?.first == c.first && counts[address]?.last == c.last, "\(address)")
        }
    }
}

@Suite(.timeLimit(.minutes(20))) struct AddressFinderTests {
    @Test func findsListedAddressesOnlyAsWholeTokens() {
        let finder = AddressFinder(["1.2.3.4", "165.232.154.116", "not.an.ip", "::1"])
        func found(_ text: String) -> [Int] {
            var out: [Int] = []
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { p in finder.forEachMatch(in: p.baseAddress!, count: p.count) { out.append($0); return $0 + 1 } }
            return out
        }
        #expect(found("a,1.2.3.4,b") == [2])
        #expect(found("1.2.3.4") == [0])
        #expect(found("x 165.232.154.116 y") == [2])
        #expect(found("a,11.2.3.4,b").isEmpty)
        #expect(found("a,1.2.3.45,b").isEmpty)
        #expect(found("a,1.2.3.4.5,b").isEmpty)
        #expect(found("v15.1.2.3.4").isEmpty)
        #expect(found("a,1.2.3.4  10.0.0.1,b") == [2])
        #expect(found("999.1.2.3,1.2.3.4") == [10])
    }
}

@Suite(.timeLimit(.minutes(20))) struct TimestampTests {
    @Test func parsesExchangeAndIISForms() {
        #expect(Timestamp.parse("2021-03-02T00:00:00Z")?.timeIntervalSince1970 == 1_614_643_200)
        #expect(Timestamp.parse("2021-03-02 00:00:01")?.timeIntervalSince1970 == 1_614_643_201)
        #expect(Timestamp.parse("2021-03-02T00:00:00.5Z")?.timeIntervalSince1970 == 1_614_643_200.5)
        #expect(Timestamp.parse("1999-12-31T23:59:59Z")?.timeIntervalSince1970 == 946_684_799)
        #expect(Timestamp.parse("2021-13-02T00:00:00Z") == nil)
        #expect(Timestamp.parse("garbage") == nil)
        #expect(Timestamp.parse("2021-03") == nil)
    }

    /// W3C data with no directives is sniffed as W3C when its lines fit one of IIS's default
    /// layouts (15 fields from IIS 8.5, 14 before), and read with that layout's names.
    @Test func headerlessW3CUsesTheDefaultLayouts() {
        let fifteen = "2021-08-10 02:00:00 10.0.0.5 POST /ecp/x.js - 443 - 203.0.113.7 ua - 200 0 0 812\n"
        let fourteen = "2021-08-10 02:00:00 10.0.0.5 POST /ecp/x.js - 443 - 203.0.113.7 ua 200 0 0 812\n"
        #expect(LogFormat.sniff(Array(fifteen.utf8)) == .w3c)
        #expect(LogFormat.sniff(Array(fourteen.utf8)) == .w3c)
        #expect(LogFormat.sniff(Array("2021-08-10 02:00:00 some text line\n".utf8)) == .text)
        for (text, status) in [(fifteen, "200"), (fourteen, "200")] {
            var s = LogScanner(format: .w3c, path: "u_ex.log", literals: nil)
            var got: [LogScanner.Line] = []
            s.feed(Array(text.utf8)) { got.append($0) }
            s.finish { got.append($0) }
            #expect(got.first?.fields.first { $0.name == "sc-status" }?.value == status)
            #expect(got.first?.fields.first { $0.name == "c-ip" }?.value == "203.0.113.7")
            #expect(s.problems.contains { $0.code == "assumed-fields" })
        }
    }
}

/// IIS's formats older than W3C: read with W3C names, never taken for Exchange CSV or text.
@Suite(.timeLimit(.minutes(20))) struct LegacyIISFormatTests {
    // As IIS writes them: every native field followed by a comma and a space, the last by a comma.
    let native = """
    203.0.113.7, -, 3/3/21, 4:15:12, W3SVC1, EXCH01, 10.0.0.1, 31, 412, 1337, 200, 0, POST, /aspnet_client/discover.aspx, a=1,b=2,\r
    10.0.0.5, CORP\\alice, 03/03/2021, 14:02:09, W3SVC1, EXCH01, 10.0.0.1, 15, 300, 9000, 200, 0, GET, /owa/, -,\r

    """
    let ncsa = """
    203.0.113.7 - - [03/Mar/2021:04:15:12 +0100] "POST /owa/auth/x.js?cmd=whoami HTTP/1.1" 200 1337
    10.0.0.5 - CORP\\alice [03/Mar/2021:14:02:09 -0500] "GET /owa/ HTTP/1.1" 302 0 "-" "Mozilla/5.0 (Windows NT 10.0)"

    """

    @Test func nativeLinesGetW3CNamesAndTheirLocalTimeIsSaid() throws {
        let bytes = Array(native.utf8)
        #expect(LogFormat.sniff(bytes) == .iisNative)
        #expect(LogFormat.sniff(bytes, folder: .iisWeb) == .iisNative)
        for chunk in [1, 7, 1 << 20] {
            let (lines, s) = scan(bytes, format: .iisNative, chunk: chunk)
            try #require(lines.count == 2)
            #expect(value(lines[0], "c-ip") == "203.0.113.7")
            #expect(value(lines[0], "cs-username") == "")
            #expect(value(lines[0], "cs-method") == "POST")
            #expect(value(lines[0], "cs-uri-stem") == "/aspnet_client/discover.aspx")
            // Commas in the query stay in the query.
            #expect(value(lines[0], "cs-uri-query") == "a=1,b=2")
            #expect(value(lines[0], "sc-status") == "200")
            #expect(value(lines[1], "cs-username") == "CORP\\alice")
            #expect(lines[0].timestamp == Timestamp.parse("2021-03-03T04:15:12Z"))
            #expect(lines[1].timestamp == Timestamp.parse("2021-03-03T14:02:09Z"))
            #expect(s.earliest == lines[0].timestamp && s.latest == lines[1].timestamp)
            #expect(s.hours.count == 2)
            #expect(s.problems.contains { $0.code == "local-time" && $0.line == 1 })
        }
    }

    @Test func ncsaLinesAreReadInUTCWithOrWithoutTheCombinedFields() throws {
        let bytes = Array(ncsa.utf8)
        #expect(LogFormat.sniff(bytes) == .ncsa)
        let (lines, s) = scan(bytes, format: .ncsa, chunk: 5)
        try #require(lines.count == 2)
        #expect(value(lines[0], "cs-uri-stem") == "/owa/auth/x.js")
        #expect(value(lines[0], "cs-uri-query") == "cmd=whoami")
        #expect(value(lines[0], "cs-version") == "HTTP/1.1")
        #expect(lines[0].timestamp == Timestamp.parse("2021-03-03T03:15:12Z"))
        #expect(lines[1].timestamp == Timestamp.parse("2021-03-03T19:02:09Z"))
        #expect(value(lines[1], "cs(User-Agent)") == "Mozilla/5.0 (Windows NT 10.0)")
        #expect(value(lines[1], "cs-username") == "CORP\\alice")
        #expect(!s.problems.contains { $0.code == "local-time" })
    }

    @Test func clientsAndServerNameAreTakenFromNativeLines() {
        var s = LogScanner(format: .iisNative, path: "in210303.log", literals: [])
        s.clientFields = ["c-ip"]
        s.identityFields = ["s-computername"]
        s.feed(Array(native.utf8)) { _ in }
        s.finish { _ in }
        #expect(Set(s.clientAddresses().keys) == ["203.0.113.7", "10.0.0.5"])
        #expect(s.identity["s-computername"] == "EXCH01")
    }

    /// Damaged lines are said and read as a message; other content is never taken for these formats.
    @Test func damagedLinesAndLookalikes() throws {
        let damaged = Array((native + "203.0.113.9, -, 3/3/21, 4:16:00, W3SVC1\n\"\"\" [ ]\n").utf8)
        let (lines, s) = scan(damaged, format: .iisNative, chunk: 3)
        #expect(lines.count == 4)
        #expect(s.problems.contains { $0.code == "malformed-line" && $0.line == 3 })
        #expect(lines.last?.timestamp == nil)
        for other in ["2021-03-03T04:15:12.000Z,Thread 12,Warning,Download failed\n",
                      "a, b, c, d,\n", "1.2.3.4 - - [99/Zzz/2021:04:15:12 +0100] \"GET / HTTP/1.1\" 200 1\n",
                      "1.2.3.4, -, 13/45/21, 4:15:12, W3SVC1, X, 10.0.0.1, 1, 1, 1, 200, 0, GET, /, -,\n"] {
            let f = LogFormat.sniff(Array(other.utf8))
            #expect(f != .iisNative && f != .ncsa, "\(other)")
        }
    }
}
