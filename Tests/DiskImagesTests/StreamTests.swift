import DiskImages
import Foundation
import Testing
import TestSupport

/// Named data streams read from an image (the change journal is one: `$UsnJrnl:$J`), against TSK's icat.
@Suite struct StreamTests {
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
