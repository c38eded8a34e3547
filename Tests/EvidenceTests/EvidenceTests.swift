import Crypto
import Foundation
import Testing
import ZIPFoundation
#if canImport(Glibc)
import Glibc
import CoreFoundation
#endif
@testable import Evidence
import HuntCore
import TestSupport

@Suite(.timeLimit(.minutes(20))) struct EvidenceTests {
    @Test func windowsPathsFromCollectionLayouts() {
        #expect(WindowsPath.from(relative: "C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Ecp/a.LOG")
                == "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Logging\\HttpProxy\\Ecp\\a.LOG")
        #expect(WindowsPath.from(relative: "host1/uploads/auto/C%3A/inetpub/wwwroot/aspnet_client/x.aspx")
                == "C:\\inetpub\\wwwroot\\aspnet_client\\x.aspx")
        #expect(WindowsPath.from(relative: "uploads/ntfs/%5C%5C.%5CC%3A/root/lsass.dmp") == "C:\\root\\lsass.dmp")
        #expect(WindowsPath.from(relative: "Logging/HttpProxy/Owa/x.log") == "Logging\\HttpProxy\\Owa\\x.log")
    }

    @Test func locationsByWhatTheFolderIs() {
        func loc(_ p: String) -> ArtifactLocation { ArtifactLocation.classify(WindowsPath.from(relative: p)) }
        #expect(loc("C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Ecp/a.LOG") == .httpProxyLog(protocolName: "Ecp"))
        #expect(loc("x/LOGGING/httpproxy/OWA/a.log") == .httpProxyLog(protocolName: "OWA"))
        #expect(loc("V15/Logging/ECP/Server/ECPServer20210303-1.LOG") == .ecpServerLog)
        #expect(loc("V15/Logging/ECP/Activity/ECPActivity_1_20210303-1.LOG") == .ecpActivityLog)
        #expect(loc("V15/Logging/OABGeneratorLog/OABGen.LOG") == .oabGeneratorLog)
        #expect(loc("C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log") == .iisLog(site: "W3SVC1"))
        #expect(loc("C/inetpub/wwwroot/aspnet_client/x.aspx") == .webRoot)
        #expect(loc("C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/ecp/auth/TimeoutLogout.aspx") == .webRoot)
        #expect(loc("C/root/lsass.dmp") == .dumpFolder)
        #expect(loc("C/Windows/Temp/lsass_1.dmp") == .dumpFolder)
        #expect(loc("C/ProgramData/VMware/x.zip") == .programData)
        #expect(loc("C/Users/bob/notes.txt") == .other)
    }

    @Test func folderTreeListsFilesAndSkipsSymlinks() throws {
        let root = try tempDir()
        try put(root, "a/b/one.log", "1")
        try put(root, "two.txt", "22")
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link").path, withDestinationPath: "/etc")
        let tree = try EvidenceTree(root)
        var problems: [String] = []
        let items = tree.items(problems: &problems)
        #expect(items.map(\.path) == ["a/b/one.log", "two.txt"])
        #expect(items.map(\.size) == [1, 2])
        #expect(problems.contains { $0.contains("link") })
    }

    @Test func readHashesInTheSamePassAndLeavesAccessTimeAlone() throws {
        let root = try tempDir()
        let text = String(repeating: "0123456789abcdef", count: 200_000) // 3.2 MB, several chunks
        try put(root, "big.log", text)
        let path = root.appendingPathComponent("big.log").path
        // Give the file an old access time, then read it as evidence.
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let tree = try EvidenceTree(root)
        var problems: [String] = []
        let item = tree.items(problems: &problems)[0]
        var seen = 0
        let result = try tree.makeReader().read(item) { seen += $0.count; return true }
        #expect(seen == text.utf8.count)
        #expect(result.sha256 == SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined())
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_atim.tv_sec == 1_000_000_000, "reading evidence changed its access time")
        // A read stopped early reports what it read and no whole-file hash.
        let partial = try tree.makeReader().read(item, limit: 1000) { _ in true }
        #expect(partial.bytesRead == 1000)
        #expect(partial.sha256 == nil)
    }

    /// A single file read at offsets by several threads (the EVTX dump's way): the pieces cover
    /// the file exactly, the last one short, nothing past the end, and the access time stays as it was.
    @Test func fileReadsAtOffsetsCoverTheFileAndLeaveAccessTimeAlone() async throws {
        let root = try tempDir()
        let bytes = Data((0..<(3 * 65536 + 1234)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try put(root, "log.evtx", bytes)
        let path = root.appendingPathComponent("log.evtx").path
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let file = try EvidenceFile(path: path)
        #expect(file.size == bytes.count)
        // An odd first piece, so later ones start off any page boundary; read out of order, at once.
        let offsets = [0, 4097, 4097 + 65536, 4097 + 2 * 65536, 4097 + 3 * 65536]
        let pieces = try await withThrowingTaskGroup(of: (Int, Data).self) { group in
            for (i, offset) in offsets.enumerated().reversed() {
                group.addTask {
                    var buffer = [UInt8](repeating: 0, count: i == 0 ? 4097 : 65536)
                    let n = try buffer.withUnsafeMutableBytes { try file.read(at: offset, into: $0) }
                    return (i, Data(buffer.prefix(n)))
                }
            }
            var out: [Int: Data] = [:]
            for try await (i, d) in group { out[i] = d }
            return out
        }
        #expect(offsets.indices.reduce(Data()) { $0 + (pieces[$1] ?? Data()) } == bytes)
        var past = [UInt8](repeating: 0, count: 100)
        #expect(try past.withUnsafeMutableBytes { try file.read(at: bytes.count, into: $0) } == 0)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_atim.tv_sec == 1_000_000_000, "reading evidence changed its access time")
    }

    @Test func zipCollectionsAreReadInPlace() throws {
        let src = try tempDir()
        try put(src, "C/inetpub/wwwroot/aspnet_client/x.aspx", "<%@ Page %>")
        try put(src, "C/root/lsass.dmp", "MDMP")
        let zip = try tempDir().appendingPathComponent("collection.zip")
        try FileManager.default.zipItem(at: src, to: zip, shouldKeepParent: false)
        let tree = try EvidenceTree(zip)
        #expect(tree.kind == .zip)
        var problems: [String] = []
        let items = tree.items(problems: &problems)
        #expect(items.map(\.path) == ["C/inetpub/wwwroot/aspnet_client/x.aspx", "C/root/lsass.dmp"])
        #expect(items[0].location == .webRoot)
        var content = Data()
        let r = try tree.makeReader().read(items[0]) { content.append(contentsOf: $0); return true }
        #expect(String(decoding: content, as: UTF8.self) == "<%@ Page %>")
        #expect(r.sha256 == SHA256.hash(data: Data("<%@ Page %>".utf8)).map { String(format: "%02x", $0) }.joined())
        // Nothing was extracted next to the zip.
        #expect(try FileManager.default.contentsOfDirectory(atPath: zip.deletingLastPathComponent().path) == ["collection.zip"])
    }

    @Test func damagedZipIsAProblemNotACrash() throws {
        let dir = try tempDir()
        let zip = dir.appendingPathComponent("bad.zip")
        try Data([0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0x41, count: 500)).write(to: zip)
        let tree = try EvidenceTree(zip)
        var problems: [String] = []
        #expect(tree.items(problems: &problems).isEmpty)
        #expect(problems.count == 1)
    }

    /// Regression (found by Scripts/fuzz.sh, the reproducer kept as it was): a collection of 6.8 KB
    /// whose deflate streams are damaged made ZIPFoundation's inflater read on past the entry and
    /// loop for ever at the end of the file, so the hunt never finished. Each damaged entry is now
    /// an error with what was wrong; the intact ones read as before.
    @Test func damagedDeflateStreamsEndWithAnError() throws {
        let tree = try EvidenceTree(repoRoot.appendingPathComponent("Tests/Reproducers/zip/inflate-loops-at-end-of-file.zip"))
        var problems: [String] = []
        let items = tree.items(problems: &problems)
        #expect(items.count == 5)
        let reader = tree.makeReader()
        var failures: [String] = []
        var intact = 0
        for item in items {
            do {
                let r = try reader.read(item) { _ in true }
                if r.sha256 != nil { intact += 1 }
            } catch {
                failures.append("\(error)")
            }
        }
        #expect(failures.count == 2)
        #expect(failures.allSatisfy { $0.contains("damaged zip entry") })
        #expect(failures.contains { $0.contains("ends before its stream does") })
        #expect(failures.contains { $0.contains("inflates past its declared 638 bytes") })
        #expect(intact == 3)
    }

    /// Deflated entries inflated by exhunt itself equal the files they were made from, byte for
    /// byte and by SHA-256, and stop early when the reader asks.
    @Test func deflatedEntriesReadAsTheOriginals() throws {
        let src = try tempDir()
        var rng = SplitMix(seed: 20_210_302)
        print("seed 20210302")
        let big = Data((0..<300_000).map { _ in UInt8(truncatingIfNeeded: rng.next() % 7 + 0x61) })
        try put(src, "C/inetpub/logs/LogFiles/W3SVC1/u_ex210302.log", big)
        try put(src, "C/root/empty.txt", Data())
        let zip = try tempDir().appendingPathComponent("collection.zip")
        try FileManager.default.zipItem(at: src, to: zip, shouldKeepParent: false, compressionMethod: .deflate)
        let tree = try EvidenceTree(zip)
        var problems: [String] = []
        let items = tree.items(problems: &problems)
        #expect(items.count == 2)
        let reader = tree.makeReader()
        for item in items {
            var content = Data()
            let r = try reader.read(item) { content.append(contentsOf: $0); return true }
            let original = item.name == "empty.txt" ? Data() : big
            #expect(content == original)
            #expect(r.sha256 == SHA256.hash(data: original).map { String(format: "%02x", $0) }.joined())
        }
        // A reader that stops after the first piece has no whole-file hash.
        guard let log = items.first(where: { $0.name.hasSuffix(".log") }) else { return }
        let partial = try reader.read(log) { _ in false }
        #expect(partial.sha256 == nil)
        #expect(partial.bytesRead > 0 && partial.bytesRead < UInt64(big.count))
    }
}
