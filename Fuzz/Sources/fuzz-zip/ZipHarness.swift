import FuzzSupport
import Foundation
import Evidence
import HuntCore

/// The evidence tree over a `.zip` collection: listing (names, sizes, collection layouts) and
/// reading every entry with a limit, hashed, as the hunt reads it (`.gz` entries inflated). ZIPFoundation opens a path, so
/// the input is written to a scratch file of this process first.
let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("exhunt-fuzz-\(getpid()).zip")

func fuzzZip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    guard (try? Data(input).write(to: scratch)) != nil,
          let tree = try? EvidenceTree(scratch) else { return 0 }
    var problems: [String] = []
    let reader = tree.makeReader(hashing: true)
    for item in tree.items(problems: &problems).prefix(64) {
        // Compressed logs inside a collection are inflated as the hunt does.
        if item.name.hasSuffix(".gz") { _ = try? reader.readInflated(item) { _ in true } }
        else { _ = try? reader.read(item, limit: 1 << 20) { _ in true } }
    }
    return 0
}
