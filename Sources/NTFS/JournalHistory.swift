public import Foundation

/// What the change journal tells about each file it names, summed up from its records: when it
/// was created, last written, renamed, deleted. Kept for the files `keep` accepts (by name: the
/// journal's records name a file and its folder, not its path), up to a bound; folders' names are
/// kept too, so a path can be told for files whose folder the `$MFT` no longer has.
public struct JournalHistory: Sendable {
    public struct File: Sendable, Hashable {
        public var reference: FileReference
        public var parent: FileReference
        /// The last name the journal gave it.
        public var name: String
        /// Earlier names (renames), oldest first.
        public var formerNames: [String] = []
        public var created: Date?
        public var lastWritten: Date?
        public var deleted: Date?
        public var firstSeen: Date?
        public var lastSeen: Date?
        public var reasons: USNRecord.Reasons = []
        public var records = 0
    }

    public private(set) var files: [FileReference: File] = [:]
    public private(set) var folders: [FileReference: (parent: FileReference, name: String)] = [:]
    public private(set) var dropped = 0
    public let limit: Int
    private let keep: @Sendable (String) -> Bool

    public init(limit: Int = 200_000, keep: @escaping @Sendable (String) -> Bool) {
        self.limit = limit
        self.keep = keep
    }

    public mutating func add(_ r: USNRecord) {
        if r.isDirectory {
            if folders.count < limit || folders[r.file] != nil { folders[r.file] = (r.parent, r.name) }
            return
        }
        guard keep(r.name) || files[r.file] != nil else { return }
        guard files[r.file] != nil || files.count < limit else {
            dropped += 1
            return
        }
        var f = files[r.file] ?? File(reference: r.file, parent: r.parent, name: r.name)
        if r.reasons.contains(.renameOldName), f.name != r.name, !f.formerNames.contains(r.name) {
            if f.formerNames.count < 8 { f.formerNames.append(r.name) }
        }
        if !r.reasons.contains(.renameOldName) {
            if f.name != r.name, f.formerNames.count < 8, !f.formerNames.contains(f.name) { f.formerNames.append(f.name) }
            f.name = r.name
            f.parent = r.parent
        }
        if let t = r.timestamp {
            if r.reasons.contains(.fileCreate), f.created == nil { f.created = t }
            if !r.reasons.isDisjoint(with: .dataChange) { f.lastWritten = t }
            if r.reasons.contains(.fileDelete) { f.deleted = t }
            f.firstSeen = min(f.firstSeen ?? t, t)
            f.lastSeen = max(f.lastSeen ?? t, t)
        }
        f.reasons.formUnion(r.reasons)
        f.records += 1
        files[r.file] = f
    }

    /// The folder path of `parent` as far as the journal's own folder records tell (nil if it
    /// does not reach the root): for folders created and deleted within the journal's time.
    public func folderPath(_ parent: FileReference, resolve: (FileReference) -> String?) -> String? {
        var names: [String] = []
        var at = parent
        while names.count < 255 {
            if let known = resolve(at) {
                let tail = names.reversed().joined(separator: "/")
                return known.isEmpty ? tail : tail.isEmpty ? known : known + "/" + tail
            }
            guard let folder = folders[at] else { return nil }
            names.append(folder.name)
            at = folder.parent
        }
        return nil
    }
}
