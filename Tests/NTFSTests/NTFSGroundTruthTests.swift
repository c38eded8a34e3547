import Foundation
import HuntCore
@testable import NTFS
import Testing
import TestSupport

/// The `$MFT` and `$J` parsers against Windows' and TSK's own listings of real volumes (../shared).
@Suite(.timeLimit(.minutes(20))) struct NTFSGroundTruthTests {
    static let dfir = sharedData.appendingPathComponent("msuhanov__dfir_ntfs/test_data")

    static func source(_ url: URL, chunk: Int = 65_536) -> MFTTable.Source {
        { body in
            let data = try Data(contentsOf: url)
            // Odd chunk sizes: records and pages must survive being split anywhere.
            var at = 0
            while at < data.count {
                let end = min(data.count, at + chunk)
                let more = data[at..<end].withUnsafeBytes { body($0) }
                if !more { return }
                at = end
            }
        }
    }

    /// TSK's `fls -r -p -l` lines: `r/r 43-128-1:	path	mtime	atime	ctime	crtime	size	uid	gid`, times in MSK.
    struct FlsLine { var deleted: Bool; var directory: Bool; var entry: UInt64; var path: String; var times: [String]; var size: UInt64 }

    static func fls(_ name: String) throws -> [FlsLine] {
        let text = try String(contentsOf: dfir.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 7, f[0].hasPrefix("r/r") || f[0].hasPrefix("d/d") else { return nil }
            let deleted = f[0].contains("*")
            guard let address = f[0].split(separator: " ").last?.dropLast(), let entry = address.split(separator: "-").first.flatMap({ UInt64($0) }) else { return nil }
            return FlsLine(deleted: deleted, directory: f[0].hasPrefix("d/d"), entry: entry, path: f[1], times: Array(f[2...5]), size: UInt64(f[6]) ?? 0)
        }
    }

    /// A time as fls printed it, in the zone its listing names (MSK or UTC).
    static func fls(_ date: Date?, zone: String) -> String {
        guard let date else { return "0000-00-00 00:00:00 (UTC)" }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(secondsFromGMT: zone == "MSK" ? 3 * 3600 : 0)
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date) + " (\(zone))"
    }

    @Test(.enabled(if: hasSharedData), arguments: ["4k-large", "orphan", "unicode"])
    func mftListsWhatTSKLists(name: String) throws {
        let table = try MFTTable(Self.source(Self.dfir.appendingPathComponent(name + ".mft"), chunk: 3_000))
        var files: [UInt64: MFTTable.File] = [:]
        try table.files { files[$0.entry] = $0 }
        #expect(table.problems.isEmpty, "\(table.problems)")
        let expected = try Self.fls(name + ".fls")
        #expect(expected.count > 20)
        var compared = 0
        for line in expected where !line.path.contains(":") {
            guard let mine = files[line.entry] else {
                Issue.record("\(name): entry \(line.entry) (\(line.path)) not listed")
                continue
            }
            #expect(mine.path == line.path, "\(name) entry \(line.entry)")
            #expect(mine.inUse == !line.deleted, "\(name) \(line.path)")
            #expect(mine.isDirectory == line.directory, "\(name) \(line.path)")
            let t = mine.times
            let zone = line.times.first { !$0.hasPrefix("0000") }.flatMap { $0.split(separator: "(").last?.dropLast() }.map(String.init) ?? "UTC"
            #expect([t.modified, t.accessed, t.changed, t.created].map { Self.fls($0, zone: zone) } == line.times, "\(name) \(line.path)")
            if !line.directory { #expect(mine.size == line.size, "\(name) \(line.path)") }
            compared += 1
        }
        #expect(compared > 20)
        // And nothing in use that TSK does not list (orphans aside, which TSK puts under $OrphanFiles).
        let listed = Set(expected.map(\.entry))
        let extra = files.values.filter { $0.inUse && $0.parentKnown && !listed.contains($0.entry) && !$0.path.hasPrefix("$") }
        #expect(extra.isEmpty, "\(extra.map(\.path))")
    }

    /// `fsutil usn readjournal` of the same journal: every record with the same USN, name, reason,
    /// attributes and file references; times differ from ours by the listing machine's UTC offset only.
    @Test(.enabled(if: hasSharedData), arguments: [4096, 1000, 30_056])
    func usnJournalAsFsutilListsIt(chunk: Int) throws {
        let data = try Data(contentsOf: Self.dfir.appendingPathComponent("usnjrnlj.bin"))
        var scanner = USNScanner()
        var mine: [USNRecord] = []
        var at = 0
        while at < data.count {
            let end = min(data.count, at + chunk)
            data[at..<end].withUnsafeBytes { scanner.feed($0) { mine.append($0) } }
            at = end
        }
        scanner.finish { mine.append($0) }
        #expect(scanner.problems.isEmpty, "\(scanner.problems)")
        #expect(scanner.skippedRanges == 7)
        let listing = try String(contentsOf: Self.dfir.appendingPathComponent("usnjrnlj.fsutil.txt"), encoding: .utf8)
        // The journal was copied after fsutil listed it: records from its "Next USN" on came later.
        let next = try #require(listing.split(separator: "\r\n").first { $0.hasPrefix("Next USN") }?.split(separator: ":").last
            .flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) })
        #expect(mine.count == 264 && mine.filter { $0.usn >= next }.count == 3)
        mine.removeAll { $0.usn >= next }
        let blocks = listing.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n").dropFirst()
        var theirs: [[String: String]] = []
        for block in blocks {
            var fields: [String: String] = [:]
            for line in block.split(separator: "\n") {
                guard let colon = line.range(of: " : ") ?? line.range(of: ": ") else { continue }
                fields[line[..<colon.lowerBound].trimmingCharacters(in: .whitespaces)] = String(line[colon.upperBound...]).trimmingCharacters(in: .whitespaces)
            }
            if fields["Major version"] != "4", fields["Usn"] != nil { theirs.append(fields) }
        }
        #expect(theirs.count == mine.count)
        let parse = DateFormatter()
        parse.locale = Locale(identifier: "en_US_POSIX")
        parse.timeZone = TimeZone(identifier: "UTC")
        parse.dateFormat = "M/d/yyyy H:mm:ss"
        var offset: Double?
        for (m, t) in zip(mine, theirs) {
            #expect(String(m.usn) == t["Usn"])
            #expect(m.name == t["File name"])
            #expect(t["Reason"]?.hasPrefix(String(format: "0x%08x", m.reasons.rawValue)) == true, "usn \(m.usn)")
            #expect(t["Reason"]?.hasSuffix(": " + m.reasons.description) == true, "usn \(m.usn): \(m.reasons)")
            #expect(t["File attributes"]?.hasPrefix(String(format: "0x%08x", m.attributes)) == true)
            #expect(t["File ID"] == String(format: "%016llx%04llx%012llx", 0, UInt64(m.file.sequence), m.file.entry))
            #expect(t["Parent file ID"] == String(format: "%016llx%04llx%012llx", 0, UInt64(m.parent.sequence), m.parent.entry))
            guard let stamp = t["Time stamp"].flatMap(parse.date(from:)), let time = m.timestamp else {
                Issue.record("usn \(m.usn): no time")
                continue
            }
            // fsutil prints whole seconds, truncated.
            let difference = stamp.timeIntervalSince1970 - floor(time.timeIntervalSince1970)
            if offset == nil { offset = difference }
            #expect(difference == offset, "usn \(m.usn)")
        }
        // Whatever zone the listing machine was in, it is a whole quarter hour from UTC.
        #expect(offset.map { $0.truncatingRemainder(dividingBy: 900) == 0 && abs($0) <= 14 * 3600 } == true)
    }

    @Test(.enabled(if: hasSharedData))
    func singleRecordsAndDamagedJournals() throws {
        // Windows' single records from the same project: each a whole record of its version.
        for name in ["usn_1170953448.bin", "usn_1170955904.bin", "usn_1170989584.bin", "usn_1170990440.bin"] {
            let data = try Data(contentsOf: Self.dfir.appendingPathComponent(name))
            var scanner = USNScanner()
            var got: [USNRecord] = []
            data.withUnsafeBytes { scanner.feed($0) { got.append($0) } }
            scanner.finish { got.append($0) }
            #expect(got.count + Int(scanner.skippedRanges) == 1, "\(name): \(scanner.problems)")
            if let r = got.first { #expect(String(r.usn) == name.dropFirst(4).dropLast(4)) }
        }
        // Zeros are sparse space, not damage; garbage is damage located by offset, and the next page is read.
        let real = try Data(contentsOf: Self.dfir.appendingPathComponent("usnjrnlj.bin"))
        var damaged = Data(count: 1 << 20) + real
        for i in 0..<64 { damaged[(1 << 20) + 4096 + 200 + i] = 0xA5 }
        var scanner = USNScanner()
        var count = 0
        damaged.withUnsafeBytes { scanner.feed($0) { _ in count += 1 } }
        scanner.finish { _ in count += 1 }
        #expect(scanner.problems.count == 1)
        #expect(scanner.damaged == 1)
        // Located in the second page of the journal (after the megabyte of zeros), the page after it read.
        let at = scanner.problems.first.flatMap { $0.split(separator: " ").dropFirst().first?.dropLast() }.flatMap { Int($0) }
        #expect(at.map { $0 >= (1 << 20) + 4096 && $0 < (1 << 20) + 8192 } == true, "\(scanner.problems)")
        #expect(count > 200 && count < 261)
    }

    @Test func damagedRecordsAreLocatedAndTheTableGoesOn() throws {
        // A record built to the format: FILE, fixups, $STANDARD_INFORMATION and $FILE_NAME.
        func record(entry: UInt64, name: String, parent: UInt64, flags: UInt16, created: UInt64) -> [UInt8] {
            var r = [UInt8](repeating: 0, count: 1024)
            func put16(_ v: UInt16, _ at: Int) { r[at] = UInt8(v & 0xFF); r[at + 1] = UInt8(v >> 8) }
            func put32(_ v: UInt32, _ at: Int) { for i in 0..<4 { r[at + i] = UInt8((v >> (8 * UInt32(i))) & 0xFF) } }
            func put64(_ v: UInt64, _ at: Int) { for i in 0..<8 { r[at + i] = UInt8((v >> (8 * UInt64(i))) & 0xFF) } }
            r.replaceSubrange(0..<4, with: Array("FILE".utf8))
            put16(0x30, 4); put16(3, 6); put16(1, 0x10); put16(0x38, 0x14); put16(flags, 0x16); put32(1024, 0x1C)
            put16(0x0707, 0x30)
            var at = 0x38
            // $STANDARD_INFORMATION, resident, 48 bytes of value.
            put32(0x10, at); put32(24 + 48, at + 4); put32(48, at + 0x10); put16(24, at + 0x14)
            put64(created, at + 24); put64(created, at + 32); put64(created, at + 40); put64(created, at + 48)
            at += 24 + 48
            let units = Array(name.utf16)
            let value = 66 + 2 * units.count, length = (24 + value + 7) & ~7
            put32(0x30, at); put32(UInt32(length), at + 4); put32(UInt32(value), at + 0x10); put16(24, at + 0x14)
            put64(parent | (1 << 48), at + 24); put64(created, at + 32)
            r[at + 24 + 64] = UInt8(units.count); r[at + 24 + 65] = 1
            for (i, u) in units.enumerated() { put16(u, at + 24 + 66 + 2 * i) }
            at += length
            put32(0xFFFF_FFFF, at)
            put32(UInt32(at + 8), 0x18)
            // The sequence value at each sector's end, the originals in the array.
            r[0x32] = r[510]; r[0x33] = r[511]; r[0x34] = r[1022]; r[0x35] = r[1023]
            put16(0x0707, 510); put16(0x0707, 1022)
            return r
        }
        let t2021: UInt64 = 132_592_032_000_000_000 // 2021-03-03 00:00:00 UTC
        var bytes: [UInt8] = []
        for entry in 0..<8 { bytes += entry == 5 ? record(entry: 5, name: ".", parent: 5, flags: 3, created: t2021) : [UInt8](repeating: 0, count: 1024) }
        bytes += record(entry: 8, name: "inetpub", parent: 5, flags: 3, created: t2021)
        var torn = record(entry: 9, name: "torn.aspx", parent: 8, flags: 1, created: t2021)
        torn[1022] = 0x00 // a torn write: the sector's end no longer holds the sequence value
        bytes += torn
        var wild = record(entry: 10, name: "wild.aspx", parent: 8, flags: 1, created: t2021)
        wild[0x38 + 4] = 0xF0; wild[0x38 + 5] = 0xFF // an attribute longer than the record
        bytes += wild
        bytes += record(entry: 11, name: "shell.aspx", parent: 8, flags: 0, created: t2021)
        // A folder that is its own grandparent: a cycle, not a hang.
        bytes += record(entry: 12, name: "a", parent: 13, flags: 3, created: t2021)
        bytes += record(entry: 13, name: "b", parent: 12, flags: 3, created: t2021)
        bytes += record(entry: 14, name: "c.aspx", parent: 12, flags: 1, created: t2021)
        let data = Data(bytes)
        let table = try MFTTable { body in _ = data.withUnsafeBytes { body($0) } }
        var files: [UInt64: MFTTable.File] = [:]
        try table.files { files[$0.entry] = $0 }
        #expect(files[11]?.path == "inetpub/shell.aspx")
        #expect(files[11]?.inUse == false)
        #expect(files[11]?.times.created == Date(timeIntervalSince1970: 1_614_729_600))
        // The torn record is decoded as read (its first sector is whole), and said torn.
        #expect(files[9]?.path == "inetpub/torn.aspx")
        #expect(files[10] == nil, "its $FILE_NAME was past the broken attribute")
        #expect(table.problems.contains { $0.hasPrefix("record 9: sector(s) 1 torn") }, "\(table.problems)")
        #expect(table.problems.contains { $0.hasPrefix("record 10: attribute at offset 56") })
        #expect(files[14]?.path == "$OrphanFiles/c.aspx")
        #expect(files[14]?.parentKnown == false)
    }
}

/// Every record of real `$MFT` files as the Rust mft crate (PyPI `mft`) decodes it: entry and
/// sequence numbers, whether in use, the four `$STANDARD_INFORMATION` times, the name and parent.
@Suite(.timeLimit(.minutes(20))) struct MFTCrateOracleTests {
    static let hasCrate = (try? run("/usr/bin/env", ["python3", "-c", "import mft"]).status) == 0

    static let samples: [String] = {
        let dfir = ["4k-large", "compressed_sparse", "deleted", "different_la", "mapping_pairs_1", "mapping_pairs_2",
                    "orphan", "slack-2", "slack-3", "slack", "unicode"].map { "msuhanov__dfir_ntfs/test_data/\($0).mft" }
        return dfir + ["puffyCid__artemis/forensics/tests/test_data/dfir/windows/mft/win11/MFT"]
    }()

    static let script = """
    import json, sys, mft
    def t(d):
        return None if d is None or d.year < 1602 else round(d.timestamp() * 1e6)
    for e in mft.PyMftParser(sys.argv[1]).entries():
        if isinstance(e, RuntimeError) or e.base_entry_id != 0:
            continue
        si, names = None, []
        for a in e.attributes():
            if isinstance(a, RuntimeError):
                continue
            c = a.attribute_content
            if a.type_name == "StandardInformation":
                si = [t(c.created), t(c.modified), t(c.mft_modified), t(c.accessed)]
            elif a.type_name == "FileName":
                names.append([c.name, c.namespace, c.parent_entry_id])
        print(json.dumps({"entry": e.entry_id, "seq": e.sequence, "inUse": "ALLOCATED" in e.flags, "si": si, "names": names}))
    """

    @Test(.enabled(if: hasSharedData && hasCrate, "needs ../shared and PyPI mft (Scripts/setup.sh --tests)"), arguments: samples)
    func recordsAsTheCrateDecodesThem(sample: String) throws {
        let url = sharedData.appendingPathComponent(sample)
        let out = try run("/usr/bin/env", ["python3", "-c", Self.script, url.path])
        struct Entry: Decodable { var entry: UInt64; var seq: UInt16; var inUse: Bool; var si: [Int64?]?; var names: [[Value]] }
        enum Value: Decodable {
            case text(String), number(UInt64)
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let n = try? c.decode(UInt64.self) { self = .number(n) } else { self = .text(try c.decode(String.self)) }
            }
            var text: String? { if case .text(let s) = self { s } else { nil } }
            var number: UInt64? { if case .number(let n) = self { n } else { nil } }
        }
        let theirs = try String(decoding: out.stdout, as: UTF8.self).split(separator: "\n").map { try JSONDecoder().decode(Entry.self, from: Data($0.utf8)) }
        let table = try MFTTable(NTFSGroundTruthTests.source(url))
        var ours: [UInt64: MFTTable.File] = [:]
        try table.files { ours[$0.entry] = $0 }
        var compared = 0
        for t in theirs where !t.names.isEmpty && t.entry != 5 {
            guard let o = ours[t.entry] else {
                Issue.record("\(sample): entry \(t.entry) not listed")
                continue
            }
            #expect(o.sequence == t.seq && o.inUse == t.inUse, "\(sample) entry \(t.entry)")
            func micros(_ d: Date?) -> Int64? { d.map { Int64(($0.timeIntervalSince1970 * 1e6).rounded()) } }
            if let si = t.si {
                let mine = [o.times.created, o.times.modified, o.times.changed, o.times.accessed].map(micros)
                #expect(zip(mine, si).allSatisfy { a, b in a == b || (a != nil && b != nil && abs(a! - b!) <= 1) }, "\(sample) entry \(t.entry): \(mine) \(si)")
            }
            // Our name is one of its long names (or its only name); its folder is the one that name gives.
            let long = t.names.filter { $0[1].text != "DOS" }
            let candidates = (long.isEmpty ? t.names : long)
            let name = String(o.path.split(separator: "/").last ?? "")
            #expect(candidates.contains { $0[0].text == name }, "\(sample) entry \(t.entry): \(name) not in \(t.names.map { $0[0].text ?? "" })")
            compared += 1
        }
        #expect(compared > 20)
        // The Windows 11 extract holds torn and overwritten records: each named, none fatal.
        #expect(table.problems.isEmpty || sample.contains("win11"), "\(table.problems)")
    }
}
