public import Foundation
import HuntCore

/// The per-user folder that holds downloaded rule sets, one folder each, and `installed.json`, the
/// record of what each folder holds and where it came from. Replaced whole, never edited in place:
/// a hunt that starts while an update runs sees the old set or the new one.
public struct RuleCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root.standardizedFileURL }

    /// `EXHUNT_RULES_CACHE` when set, else the platform's per-user cache folder.
    public static func standard() -> RuleCache {
        if let env = ProcessInfo.processInfo.environment["EXHUNT_RULES_CACHE"], !env.isEmpty {
            return RuleCache(root: URL(fileURLWithPath: env, isDirectory: true))
        }
        return RuleCache(root: Platform.userCacheFolder().appendingPathComponent("exhunt/rules", isDirectory: true))
    }

    /// One installed set: its source as it was pinned, what was verified, and where it lies.
    public struct Installed: Codable, Sendable, Hashable {
        public var source: RuleSource
        /// The archive's SHA-256 as received, and the taken files' digest, both computed here.
        public var archiveSHA256: String
        public var contentSHA256: String
        /// The folder under the cache root.
        public var folder: String
        public var installedAt: Date
        public var files: Int
        public var bytes: UInt64

        public var name: String { source.name }
    }

    private struct Record: Codable { var version = 1; var sets: [Installed] = [] }

    var recordFile: URL { root.appendingPathComponent("installed.json") }

    /// What is installed; nothing when the cache does not exist yet. A record that cannot be read
    /// is an error: rules the user updated must not silently go missing from a hunt.
    public func installed() throws -> [Installed] {
        guard FileManager.default.fileExists(atPath: recordFile.path) else { return [] }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(Record.self, from: Data(contentsOf: recordFile)).sets
        } catch {
            throw UpdateError.cache("\(recordFile.path) cannot be read (\(error)); run `exhunt rules update` again")
        }
    }

    public func folder(of set: Installed) -> URL { root.appendingPathComponent(set.folder, isDirectory: true) }

    /// The taken paths of a set that hold rules of `kind`, with where they lie.
    public func files(of set: Installed, _ kind: RuleSource.Kind) -> [(take: RuleSource.Take, url: URL)] {
        set.source.take.filter { $0.kind == kind }.map { ($0, folder(of: set).appendingPathComponent($0.path)) }
            .filter { FileManager.default.fileExists(atPath: $0.url.path) }
    }

    /// Records `set` in place of any earlier set of its name, written to a new file and renamed
    /// over the old one (a crash leaves one record or the other).
    func record(_ set: Installed) throws -> Installed? {
        var sets = try installed()
        let previous = sets.first { $0.name == set.name }
        sets.removeAll { $0.name == set.name }
        sets.append(set)
        sets.sort { $0.name < $1.name }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(Record(sets: sets))
        let temporary = root.appendingPathComponent(".installed-\(UUID().uuidString).json")
        try data.write(to: temporary)
        do {
            try FileReplacement.replace(recordFile, with: temporary)
        } catch {
            throw UpdateError.cache("cannot rename \(temporary.path) to \(recordFile.path): \(error)")
        }
        return previous
    }
}

public enum UpdateError: Error, CustomStringConvertible, Sendable {
    case download(String)
    case verification(String)
    case archive(String)
    case cache(String)

    public var description: String {
        switch self {
        case .download(let s): "download failed: \(s)"
        case .verification(let s): "verification failed: \(s)"
        case .archive(let s): "archive refused: \(s)"
        case .cache(let s): "rule cache: \(s)"
        }
    }
}
