import DiskImages
import Foundation
import Testing
import TestSupport

/// Named data streams read from an image (the change journal is one: `$UsnJrnl:$J`), against TSK's icat.
@Suite(.timeLimit(.minutes(20))) struct StreamTests {
    static let image = sharedData.appendingPathComponent("Velocidex__velociraptor/artifacts/testdata/files/test.ntfs.dd.E01")

    @Test("A file's named stream reads as icat reads it; a missing one is said missing",
          .enabled(if: hasSharedData && ImageTools.icat != nil, "needs ../shared and sleuthkit's icat (Scripts/setup.sh --tests)"))
    func namedStreamAsIcatReadsIt() throws {
        let image = try DiskImage(path: Self.image.path)
        let volume = try #require(image.volumes.first)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        for (path, stream, address) in [("Folder A/Folder B/Hello world text document.txt", "goodbye.txt", "46-128-5"),
                                        ("$Extend/$RmMetadata/$Repair", "$Config", "28-128-2")] {
            var ours = Data()
            var first: Int64?
            let found = try image.readStream(volume: volume.number, path: path, stream: stream, buffer: buffer) { offset, chunk in
                if first == nil { first = offset }
                ours.append(contentsOf: chunk)
                return true
            }
            #expect(found, "\(path):\(stream)")
            let theirs = try run(URL(fileURLWithPath: try #require(ImageTools.icat)), [Self.image.path, address]).stdout
            #expect(first ?? 0 == 0)
            #expect(ours == theirs, "\(path):\(stream): \(ours.count) bytes, icat \(theirs.count)")
        }
        let missing = try image.readStream(volume: volume.number, path: "Folder A/Folder B/Hello world text document.txt", stream: "nope",
                                           buffer: buffer) { _, _ in true }
        #expect(!missing)
        #expect(try !image.readStream(volume: volume.number, path: "$Extend/$UsnJrnl", stream: "$J", buffer: buffer) { _, _ in true },
                "this volume keeps no change journal")
    }
}

/// Windows-made NTFS images from ../shared (dfir_ntfs: plain volumes, one with an attribute list,
/// and one at sector 128 of an MBR disk): every file TSK's fls lists, deleted ones too.
@Suite(.timeLimit(.minutes(20))) struct WindowsVolumeTests {
    let exhunt = productBinary("exhunt")

    @Test("Every regular file fls lists in Windows-made NTFS images, deleted ones too, at the partition's offset",
          .enabled(if: hasSharedData && ImageTools.fls != nil, "needs ../shared and sleuthkit's fls (Scripts/setup.sh --tests)"),
          arguments: [("ntfs3.raw.gz", 0), ("ntfs3_attrlist.raw.gz", 0), ("ntfs_index.raw.gz", 128)])
    func listsWhatFlsLists(name: String, sector: Int) throws {
        let dir = try tempDir()
        let image = dir.appendingPathComponent(String(name.dropLast(3)))
        let packed = try Data(contentsOf: sharedData.appendingPathComponent("msuhanov__dfir_ntfs/test_data/\(name)"))
        try packed.write(to: dir.appendingPathComponent(name))
        _ = try run(URL(fileURLWithPath: "/bin/gzip"), ["-d", "-k", dir.appendingPathComponent(name).path])
        let json = dir.appendingPathComponent("r.json")
        _ = try run(exhunt, ["hunt", image.path, "--scan-all", "-o", json.path, "--quiet", "--no-progress"])
        let report = try Report.read(json)
        #expect(report.image?.volumes.first?.offset == UInt64(sector * 512))
        let ours = Set(report.manifest.map { String($0.path.dropFirst("vol1:/".count)) }.filter { !$0.hasPrefix("$OrphanFiles/") })
        let listing = try run(URL(fileURLWithPath: try #require(ImageTools.fls)), ["-r", "-p", "-F"] + (sector > 0 ? ["-o", String(sector)] : []) + [image.path])
        let theirs = Set(String(decoding: listing.stdout, as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
            guard let tab = line.firstIndex(of: "\t") else { return nil }
            let path = String(line[line.index(after: tab)...])
            if path.contains(":") || (!path.contains("/") && path.hasPrefix("$")) || path.hasPrefix("$Extend/") || path.hasPrefix("$OrphanFiles/") { return nil }
            // A deleted name whose reference Windows zeroed (`r/- * 0:`) has no content to read,
            // so no manifest entry: only the rules on names see it.
            if line.contains(" * 0:") { return nil }
            return path
        })
        #expect(!theirs.isEmpty)
        #expect(ours == theirs, "only ours: \(ours.subtracting(theirs)); only fls's: \(theirs.subtracting(ours))")
    }
}
