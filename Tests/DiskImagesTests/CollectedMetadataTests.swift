import Foundation
import Testing
import TestSupport

/// A triage collection that carries the server's `$MFT` and change journal (KAPE's `C/$MFT` and
/// `C/$Extend/$J`) but not its web folders: the logs get the server's own file times, and the
/// files the collection lacks (a deleted shell, a page not collected, a page written and deleted
/// within the journal's time, a cleared log) are named with theirs.
@Suite("NTFS metadata in collections", .serialized, .timeLimit(.minutes(20)))
struct CollectedMetadataTests {
    let exhunt = productBinary("exhunt")

    static var tools: Bool { ImageTools.available && [ImageTools.icat, ImageTools.ifind, ImageTools.istat].allSatisfy { $0 != nil } }

    /// A change journal page in version 2 records, as Windows writes them (`USN_RECORD_V2`).
    static func journal(_ records: [(file: UInt64, seq: UInt16, parent: UInt64, parentSeq: UInt16, time: Date, reasons: UInt32, name: String)],
                        firstUSN: Int) -> Data {
        var out = Data(count: firstUSN) // the sparse part, as KAPE copies it: zeros
        for r in records {
            let name = Array(r.name.utf16)
            let length = (60 + 2 * name.count + 7) & ~7
            var rec = Data(count: length)
            func put<T: FixedWidthInteger>(_ v: T, _ at: Int) { withUnsafeBytes(of: v.littleEndian) { rec.replaceSubrange(at..<(at + MemoryLayout<T>.size), with: $0) } }
            put(UInt32(length), 0); put(UInt16(2), 4); put(UInt16(0), 6)
            put(r.file | UInt64(r.seq) << 48, 8); put(r.parent | UInt64(r.parentSeq) << 48, 16)
            put(Int64(out.count), 24)
            put(UInt64((r.time.timeIntervalSince1970 + 11_644_473_600) * 10_000_000), 32)
            put(r.reasons, 40); put(UInt32(0x20), 52); put(UInt16(2 * name.count), 56); put(UInt16(60), 58)
            for (i, u) in name.enumerated() { put(u, 60 + 2 * i) }
            out += rec
        }
        out += Data(count: (4096 - out.count % 4096) % 4096)
        return out
    }

    @Test("A KAPE collection of logs with the server's $MFT and $J: the server's times, and what the collection lacks, named with theirs",
          .enabled(if: tools, "needs mkntfs, ntfs-3g with FUSE as root, and sleuthkit (Scripts/setup.sh --tests)"))
    func kapeCollectionWithMFTAndJournal() throws {
        let dir = try tempDir()
        let volume = try ImageTools.volume(in: dir)
        // The collection: the logs, the $MFT (icat of entry 0) and a journal; no web folders.
        let kape = dir.appendingPathComponent("kape/C")
        let sample = repoRoot.appendingPathComponent("Samples/compromised-server/C")
        try FileManager.default.createDirectory(at: kape.appendingPathComponent("inetpub"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: sample.appendingPathComponent("inetpub/logs"), to: kape.appendingPathComponent("inetpub/logs"))
        try FileManager.default.createDirectory(at: kape.appendingPathComponent("Program Files/Microsoft/Exchange Server/V15"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: sample.appendingPathComponent("Program Files/Microsoft/Exchange Server/V15/Logging"),
                                         to: kape.appendingPathComponent("Program Files/Microsoft/Exchange Server/V15/Logging"))
        // Collected after the intruder cleared it: the cleared IIS log is not in the collection.
        try FileManager.default.removeItem(at: kape.appendingPathComponent("inetpub/logs/LogFiles/W3SVC1/u_ex210101.log"))
        // Copies carry today's times: only the $MFT can date them.
        let mft = try run(URL(fileURLWithPath: try #require(ImageTools.icat)), [volume.path, "0"])
        try mft.stdout.write(to: kape.appendingPathComponent("$MFT"))
        // The journal names aspnet_client by its MFT entry and sequence number.
        let found = try run(URL(fileURLWithPath: try #require(ImageTools.ifind)), ["-n", "inetpub/wwwroot/aspnet_client", volume.path])
        let folder = try #require(UInt64(String(decoding: found.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        let stat = String(decoding: try run(URL(fileURLWithPath: try #require(ImageTools.istat)), [volume.path, String(folder)]).stdout, as: UTF8.self)
        // "Entry: 64        Sequence: 1"
        let sequence = try #require(stat.split(separator: "\n").first { $0.hasPrefix("Entry:") }.flatMap { UInt16($0.split(separator: " ").last ?? "") })
        let written = Date(timeIntervalSince1970: 1_614_744_660) // 2021-03-03T04:11:00Z
        let removed = Date(timeIntervalSince1970: 1_614_938_400) // 2021-03-05T10:00:00Z
        let j = Self.journal([
            (900, 3, folder, sequence, written, 0x100, "xo5k.aspx"),
            (900, 3, folder, sequence, written, 0x8000_0102, "xo5k.aspx"),
            (900, 3, folder, sequence, removed, 0x8000_0200, "xo5k.aspx"),
            // A file of no interest, and a folder that is not a web folder: not listed.
            (901, 1, 5, 5, written, 0x100, "notes.bin"),
        ], firstUSN: 1 << 20)
        try FileManager.default.createDirectory(at: kape.appendingPathComponent("$Extend"), withIntermediateDirectories: true)
        try j.write(to: kape.appendingPathComponent("$Extend/$J"))

        let json = dir.appendingPathComponent("kape.json")
        let r = try run(exhunt, ["hunt", dir.appendingPathComponent("kape").path, "--host", "EXCH01", "-o", json.path, "--quiet", "--no-progress"])
        let report = try Report.read(json)
        #expect(r.status == 1 && report.verdict == "compromised", "\(String(decoding: r.stderr, as: UTF8.self))")
        // Every collected log is dated by the server's $MFT (2021-03-09 12:00 UTC, set in the volume), with its entry.
        let logs = report.manifest.filter { $0.path.hasSuffix(".log") }
        #expect(logs.count > 20)
        #expect(logs.allSatisfy { $0.timeSource == "file-system" && $0.modified == Date(timeIntervalSince1970: 1_615_291_200) && ($0.entry ?? 0) > 0 },
                "\(logs.filter { $0.timeSource != "file-system" }.map(\.path))")
        let deletedRule = "cfe24f53-159f-4681-a6cc-430f78b81c88"
        let deleted = report.findings.filter { $0.rule.id == deletedRule }
        // The shell deleted before imaging, named by its (unused) MFT entry, dated by it.
        let gone = try #require(deleted.first { $0.evidence.path == "C/inetpub/wwwroot/aspnet_client/gone.aspx" }, "\(deleted.map(\.evidence.path))")
        #expect(gone.timestamp == Date(timeIntervalSince1970: 1_614_564_000))
        #expect(gone.extracted?["summary"]?.contains("modified 2021-03-01T02:00:00.000Z") == true, "\(gone.extracted ?? [:])")
        #expect(gone.extracted?["summary"]?.contains("not in the collection; named by its $MFT") == true)
        // The page the journal saw written and deleted, which no MFT entry keeps.
        let journalled = try #require(deleted.first { $0.evidence.path == "C/inetpub/wwwroot/aspnet_client/xo5k.aspx" }, "\(deleted.map(\.evidence.path))")
        #expect(journalled.timestamp == written)
        #expect(journalled.extracted?["summary"]?.contains("created 2021-03-03T04:11:00.000Z, last written 2021-03-03T04:11:00.000Z, deleted 2021-03-05T10:00:00.000Z (change journal)") == true,
                "\(journalled.extracted ?? [:])")
        #expect(!report.findings.contains { $0.evidence.path.contains("notes.bin") })
        // The live shells the collection did not copy (the sample's aspnet_client shell, and its
        // page named like Exchange's RedirSuiteServiceProxy.aspx, as HAFNIUM named one): named,
        // dated by the MFT, to be collected.
        let missed = report.findings.filter { $0.rule.id == "5f0c2a7e-8d41-4b6e-9c3a-1e7d2b9f4a60" }
        #expect(Set(missed.map(\.evidence.path)) == ["C/inetpub/wwwroot/aspnet_client/supp0rt.aspx",
                                                     "C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/RedirSuiteServerProxy.aspx"])
        #expect(missed.first { $0.evidence.path.hasSuffix("supp0rt.aspx") }?.timestamp == Date(timeIntervalSince1970: 1_614_474_300))
        // The cleared IIS log: a gap with its reason.
        #expect(report.problems.contains { $0.code == "deleted-log" && $0.message.contains("named by the collection's $MFT") })

        // Velociraptor's layout and names: the NTFS accessor's `\\.\C:` folder, `$UsnJrnl:$J` encoded.
        let velo = dir.appendingPathComponent("velo/uploads/ntfs/%5C%5C.%5CC%3A")
        try FileManager.default.createDirectory(at: velo.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: kape, to: velo)
        try FileManager.default.moveItem(at: velo.appendingPathComponent("$Extend/$J"), to: velo.appendingPathComponent("$Extend/$UsnJrnl%3A$J"))
        let veloJSON = dir.appendingPathComponent("velo.json")
        _ = try run(exhunt, ["hunt", dir.appendingPathComponent("velo").path, "--host", "EXCH01", "-o", veloJSON.path, "--quiet", "--no-progress"])
        let veloReport = try Report.read(veloJSON)
        #expect(veloReport.manifest.filter { $0.path.hasSuffix(".log") }.allSatisfy { $0.timeSource == "file-system" })
        #expect(Set(veloReport.findings.filter { $0.rule.id == deletedRule }.map { $0.evidence.path.split(separator: "/").last.map(String.init) ?? "" })
                == ["gone.aspx", "xo5k.aspx"])

        // The same logs without the metadata: copies' times, nothing named.
        try FileManager.default.removeItem(at: kape.appendingPathComponent("$MFT"))
        try FileManager.default.removeItem(at: kape.appendingPathComponent("$Extend"))
        let plain = dir.appendingPathComponent("plain.json")
        _ = try run(exhunt, ["hunt", dir.appendingPathComponent("kape").path, "--host", "EXCH01", "-o", plain.path, "--quiet", "--no-progress"])
        let without = try Report.read(plain)
        #expect(!without.manifest.contains { $0.timeSource == "file-system" })
        #expect(!without.findings.contains { $0.rule.id == deletedRule })
    }
}
