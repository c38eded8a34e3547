public import Foundation
import Yams
import BuiltinRules

/// A third-party rule set exhunt can download: where its pinned release is, what it is pinned to,
/// which of its files are taken, and whose they are (shown with every finding of its rules).
public struct RuleSource: Sendable, Hashable, Codable {
    /// What exhunt loads a taken path as.
    public enum Kind: String, Sendable, Hashable, Codable {
        case sigma, yara, licence
        /// Microsoft's per-build lists of Exchange's files (`baseline_<build>.csv`), for `--baselines`.
        case baselines
    }

    public struct Take: Sendable, Hashable, Codable {
        /// A folder of the archive (ending in `/`) or one file, after `strip` leading folders.
        public var path: String
        public var kind: Kind

        public init(path: String, kind: Kind) {
            self.path = path
            self.kind = kind
        }

        public var isFolder: Bool { path.hasSuffix("/") }

        func covers(_ member: String) -> Bool { isFolder ? member.hasPrefix(path) : member == path }
    }

    public var name: String
    public var title: String
    public var homepage: String
    public var author: String
    public var licence: String
    public var version: String
    public var url: String
    /// Leading folders of every archive member to drop (GitHub's archives put all in `repo-commit/`).
    public var strip: Int
    /// SHA-256 of the archive's bytes, lowercase hex.
    public var sha256: String?
    /// SHA-256 of the taken files' `sha256sum` lines (see `ContentDigest`).
    public var contentSHA256: String?
    public var take: [Take]

    public init(name: String, title: String, homepage: String, author: String, licence: String, version: String, url: String,
                strip: Int, sha256: String?, contentSHA256: String?, take: [Take]) {
        self.name = name
        self.title = title
        self.homepage = homepage
        self.author = author
        self.licence = licence
        self.version = version
        self.url = url
        self.strip = strip
        self.sha256 = sha256
        self.contentSHA256 = contentSHA256
        self.take = take
    }

    enum CodingKeys: String, CodingKey {
        case name, title, homepage, author, licence, version, url, strip, sha256, take
        case contentSHA256 = "content_sha256"
    }

    /// The take that covers an archive member (already stripped), if any.
    public func take(for member: String) -> Take? { take.first { $0.covers(member) } }
}

public struct RuleSourceList: Sendable {
    public var sources: [RuleSource]
    public var file: String

    public struct Invalid: Error, CustomStringConvertible {
        public var file: String
        public var reason: String
        public var description: String { "\(file): \(reason)" }
    }

    private struct Document: Decodable { var sources: [RuleSource] }

    /// The list shipped with exhunt (`Rules/rule-sources.yml`).
    public static func shipped() throws -> RuleSourceList {
        try load(BuiltinRules.directory().appendingPathComponent("rule-sources.yml"))
    }

    /// Loads and checks a list: every source pinned by a well-formed SHA-256, fetched over HTTPS,
    /// with names that are safe as folder names and take paths that stay inside the archive.
    public static func load(_ url: URL) throws -> RuleSourceList {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw Invalid(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let doc: Document
        do { doc = try YAMLDecoder().decode(Document.self, from: text) } catch {
            throw Invalid(file: url.path, reason: "not a rule source list: \(error)")
        }
        var seen = Set<String>()
        for s in doc.sources {
            func bad(_ why: String) -> Invalid { Invalid(file: url.path, reason: "source '\(s.name)': \(why)") }
            guard !s.name.isEmpty, s.name.utf8.allSatisfy({ $0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) }),
                  seen.insert(s.name).inserted else {
                throw bad("a name is lowercase letters, digits, '-' and '_', once per list")
            }
            guard URL(string: s.url)?.scheme?.lowercased() == "https" else { throw bad("the url must be https://") }
            for pin in [s.sha256, s.contentSHA256].compactMap({ $0 }) where !isSHA256(pin) {
                throw bad("'\(pin)' is not a SHA-256 in hex")
            }
            guard s.sha256 != nil || s.contentSHA256 != nil else {
                throw bad("no pin: give sha256 (the archive's) or content_sha256 (its taken files')")
            }
            guard !s.take.isEmpty, s.strip >= 0, s.strip < 16 else { throw bad("nothing to take, or a strip out of range") }
            for t in s.take where !MemberPath.isSafe(t.path) { throw bad("take path '\(t.path)' leaves the archive") }
            // Sigma rules load by folder (their files named inside it).
            for t in s.take where t.kind == .sigma && !t.isFolder { throw bad("sigma takes are folders ('\(t.path)/')") }
        }
        return RuleSourceList(sources: doc.sources, file: url.path)
    }

    static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// Archive member paths, checked before anything is written under the cache.
enum MemberPath {
    /// Relative, `/`-separated, no `.`/`..` components, no backslash or drive, no NUL.
    static func isSafe(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\\"), !path.contains(":"), !path.contains("\0") else { return false }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for (i, p) in parts.enumerated() {
            if p == "." || p == ".." { return false }
            // Only a folder's trailing slash may leave an empty component.
            if p.isEmpty && i != parts.count - 1 { return false }
        }
        return true
    }

    /// `path` without its first `count` folders, or nil when it has no more than that.
    static func strip(_ path: String, _ count: Int) -> String? {
        var rest = Substring(path)
        for _ in 0..<count {
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            rest = rest[rest.index(after: slash)...]
        }
        return rest.isEmpty ? nil : String(rest)
    }
}
