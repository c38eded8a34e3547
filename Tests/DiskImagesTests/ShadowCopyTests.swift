import Crypto
import Foundation
import Testing
import TestSupport

/// Volume shadow copies of a Windows-made NTFS volume (plaso's `vsstest.qcow2`: two stores),
/// against libvshadow's own tools: vshadowinfo for the stores and their creation times,
/// vshadowmount with TSK's fls and icat for what each store holds.
@Suite("Volume shadow copies", .serialized, .timeLimit(.minutes(20)))
struct ShadowCopyTests {
    let exhunt = productBinary("exhunt")

    static var tools: Bool {
        hasSharedData && ImageTools.available && [ImageTools.fls, ImageTools.icat, ImageTools.vshadowinfo, ImageTools.vshadowmount].allSatisfy { $0 != nil }
    }

    /// fls's body file (`-m /`): path -> (inode, size, mtime), regular files in use, without
    /// alternate data streams, $FILE_NAME lines or NTFS's own files.
    static func body(_ image: String) throws -> [String: (inode: String, size: UInt64, mtime: Int)] {
        let out = try run(URL(fileURLWithPath: try #require(ImageTools.fls)), ["-r", "-p", "-m", "/", image])
        var files: [String: (String, UInt64, Int)] = [:]
        for line in String(decoding: out.stdout, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 11, f[3].hasPrefix("r/r"), !f[1].contains("(deleted)"), !f[1].contains(":"), !f[1].hasSuffix("($FILE_NAME)"),
                  !f[1].hasPrefix("/$"), let size = UInt64(f[6]), let mtime = Int(f[8]) else { continue }
            files[String(f[1].dropFirst())] = (f[2], size, mtime)
        }
        return files
    }

    @Test("Each store of a Windows volume is read: its creation time as vshadowinfo gives it, and the files it holds that the live volume does not, as fls and icat read them",
          .enabled(if: tools, "needs ../shared, qemu-img, FUSE as root, sleuthkit and libvshadow-utils (Scripts/setup.sh --tests)"))
    func storesAsLibvshadowReadsThem() throws {
        let dir = try tempDir()
        let raw = dir.appendingPathComponent("vsstest.raw")
        try ImageTools.must(ImageTools.qemuImg, ["convert", "-O", "raw", sharedData.appendingPathComponent("log2timeline__plaso/test_data/vsstest.qcow2").path, raw.path])
        let json = dir.appendingPathComponent("vss.json")
        _ = try run(exhunt, ["hunt", raw.path, "--scan-all", "--host", "VSS", "-o", json.path, "--quiet", "--no-progress"])
        let report = try Report.read(json)
        let record = try #require(report.image)
        let copies = record.volumes.filter { $0.shadowCopyOf != nil }
        // vshadowinfo: "Creation time		: Dec 03, 2013 06:35:09.736378700 UTC"
        let info = String(decoding: try run(URL(fileURLWithPath: try #require(ImageTools.vshadowinfo)), [raw.path]).stdout, as: UTF8.self)
        let parse = DateFormatter()
        parse.locale = Locale(identifier: "en_US_POSIX")
        parse.timeZone = TimeZone(identifier: "UTC")
        parse.dateFormat = "MMM dd, yyyy HH:mm:ss"
        let times = info.split(separator: "\n").filter { $0.contains("Creation time") }.compactMap { line -> Date? in
            guard let value = line.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces),
                  let dot = value.firstIndex(of: "."), let whole = parse.date(from: String(value[..<dot])) else { return nil }
            let fraction = Double("0" + value[dot...].prefix { $0 != " " }) ?? 0
            return whole.addingTimeInterval(fraction)
        }
        #expect(times.count == 2)
        #expect(copies.map(\.name) == ["vol1-vss1", "vol1-vss2"])
        for (copy, time) in zip(copies, times) {
            #expect(abs((copy.created ?? .distantPast).timeIntervalSince(time)) < 0.001, "\(copy.name)")
        }
        // What each store holds that the live volume does not (or not as it was), by fls on the
        // store libvshadow mounts; and the content exhunt read, by icat.
        let mnt = dir.appendingPathComponent("vss")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        try ImageTools.daemon([try #require(ImageTools.vshadowmount), raw.path, mnt.path])
        defer { _ = try? run(URL(fileURLWithPath: ImageTools.umount ?? "/bin/umount"), [mnt.path]) }
        let live = try Self.body(raw.path)
        for store in 1...2 {
            let image = mnt.appendingPathComponent("vss\(store)").path
            let held = try Self.body(image)
            let expected = Set(held.filter { path, f in live[path].map { $0.size != f.size || $0.mtime != f.mtime } ?? true }.keys)
            let ours = report.manifest.filter { $0.path.hasPrefix("vol1-vss\(store):/") }
            #expect(Set(ours.map { String($0.path.dropFirst("vol1-vssN:/".count)) }) == expected, "store \(store)")
            for entry in ours {
                let path = String(entry.path.dropFirst("vol1-vssN:/".count))
                guard let inode = held[path]?.inode, (entry.size ?? 0) < 64 << 20 else { continue }
                let bytes = try run(URL(fileURLWithPath: try #require(ImageTools.icat)), [image, inode]).stdout
                #expect(entry.sha256 == SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined(), "\(entry.path)")
            }
        }
        // The store's syslog, gzipped on the live volume since: found in the first store only.
        #expect(report.manifest.contains { $0.path == "vol1-vss1:/syslog" })
        #expect(!report.manifest.contains { $0.path == "vol1:/syslog" })
    }
}
