import FuzzSupport
@testable import NTFS

/// Change journal streams (`$J`): version 2, 3 and 4 records, sparse zeros, damage, pages split
/// across chunks of a size the input chooses; the per-file history and folder paths built from them.
func fuzzUSN(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    guard let first = input.first else { return 0 }
    let chunk = Int(first) * 13 + 1
    let body = Array(input.dropFirst())
    var scanner = USNScanner(startingAt: Int64(first) * 4096)
    var history = JournalHistory(limit: 64) { _ in true }
    var at = 0
    while at < body.count {
        let end = min(body.count, at + chunk)
        body[at..<end].withUnsafeBytes { scanner.feed($0) { history.add($0) } }
        at = end
    }
    scanner.finish { history.add($0) }
    for file in history.files.values {
        _ = history.folderPath(file.parent) { $0.entry == 5 ? "" : nil }
        _ = file.reasons.description
    }
    return 0
}
