import FuzzSupport
@testable import NTFS

/// `$MFT` tables: record size, fixups, attributes, names and parents, paths through folder
/// chains that may cycle. The input is fed in chunks of a size it chooses (records split anywhere).
func fuzzMFT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    guard let first = input.first else { return 0 }
    let chunk = Int(first) * 7 + 1
    let body = Array(input.dropFirst())
    let source: MFTTable.Source = { visit in
        var at = 0
        while at < body.count {
            let end = min(body.count, at + chunk)
            if !body[at..<end].withUnsafeBytes({ visit($0) }) { return }
            at = end
        }
    }
    guard let table = try? MFTTable(source) else { return 0 }
    try? table.files { file in
        _ = table.folderPath(FileReference(entry: file.entry, sequence: file.sequence))
    }
    // One record decoded on its own, as an image's reader would.
    var record = Array(body.prefix(4096))
    if !record.isEmpty { _ = record.withUnsafeMutableBytes { try? MFTRecord.decode($0, entry: 0) } }
    return 0
}
