import Foundation
import HuntCore

/// Timestamps that collection tools recorded from the source system. A copy's own file times
/// are those of the collection; KAPE keeps the originals in its copy log (`*_CopyLog.csv`, columns
/// `SourceFile`, `CreatedOnUtc`, `ModifiedOnUtc`, `LastAccessedOnUtc`, …).
struct CollectionMetadata {
    struct Times {
        var created: Date?
        var modified: Date?
        var accessed: Date?
    }

    /// Keyed by the lowercased source Windows path (`c:\program files\…`).
    private(set) var bySourcePath: [String: Times] = [:]

    var isEmpty: Bool { bySourcePath.isEmpty }

    func times(forWindowsPath path: String) -> Times? { bySourcePath[path.lowercased()] }

    static func isCopyLog(_ name: String) -> Bool { name.lowercased().hasSuffix("_copylog.csv") }

    /// Adds one KAPE copy log; unknown layouts add nothing.
    mutating func addKapeCopyLog(_ text: String) {
        var lines = text.split(whereSeparator: \.isNewline).makeIterator()
        guard let header = lines.next() else { return }
        let names = CSVLine.split(String(header)).map { $0.lowercased() }
        func column(_ n: String) -> Int? { names.firstIndex(of: n.lowercased()) }
        guard let source = column("SourceFile") else { return }
        let created = column("CreatedOnUtc"), modified = column("ModifiedOnUtc"), accessed = column("LastAccessedOnUtc")
        while let line = lines.next() {
            let f = CSVLine.split(String(line))
            guard source < f.count else { continue }
            func date(_ i: Int?) -> Date? { i.flatMap { $0 < f.count ? Timestamp.parse(f[$0]) : nil } }
            bySourcePath[f[source].lowercased()] = Times(created: date(created), modified: date(modified), accessed: date(accessed))
        }
    }

}
