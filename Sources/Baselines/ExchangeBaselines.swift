public import Foundation

/// Microsoft's per-build lists of what Exchange installs in its web folders (`SHA256,build,relative
/// path`, one CSV per build, no header, sometimes a BOM: the baselines its CompareExchangeHashes
/// script used), and the judgement of one file against the builds a server has installed: one of
/// Exchange's own (known-good), one of its paths with other content (modified), or not Exchange's
/// at all (unknown). Paths are compared whatever their root, and version folders (`owa\auth\15.1.2176`)
/// as the baselines write them (`version`).
public struct ExchangeBaselines: Sendable {
    /// Per build, its files: normalized relative path to the SHA-256s (lowercase hex) it ships there.
    private var files: [String: [String: Set<String>]] = [:]
    /// Every SHA-256 any loaded build ships, with a build that does: content of Exchange's own
    /// even where it lies elsewhere.
    private var hashes: [String: String] = [:]
    public private(set) var problems: [String] = []

    public var builds: [String] { files.keys.sorted() }
    public var isEmpty: Bool { files.isEmpty }

    /// Most lines read from one baseline file (Microsoft's have about 17,000).
    public static let maxLinesPerFile = 500_000

    public enum Judgement: Sendable, Equatable {
        case knownGood(build: String)
        /// An Exchange path of these builds, with content none of them ships there.
        case modified(builds: [String])
        case unknown
    }

    public init() {}

    /// Loads every `.csv` in `folder` (a file works too).
    public init(loading folder: URL) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: folder.path])
        }
        let urls = isDir.boolValue
            ? (try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil))
                .filter { $0.pathExtension.lowercased() == "csv" }.sorted { $0.path < $1.path }
            : [folder]
        for url in urls {
            do { add(csv: try Data(contentsOf: url), label: url.lastPathComponent) } catch {
                problems.append("\(url.lastPathComponent): not read: \(error.localizedDescription)")
            }
        }
    }

    /// Adds one baseline file's lines; a line that is not `SHA256,build,path` is counted and skipped.
    public mutating func add(csv data: Data, label: String) {
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var bad = 0, read = 0
        for line in text.split(whereSeparator: \.isNewline) {
            read += 1
            guard read <= Self.maxLinesPerFile else {
                problems.append("\(label): more than \(Self.maxLinesPerFile) lines; the rest were not read")
                break
            }
            let f = line.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3, f[0].count == 64, f[0].allSatisfy(\.isHexDigit), let build = Self.build(String(f[1])) else {
                bad += 1
                continue
            }
            let hash = f[0].lowercased()
            let key = Self.normalize(String(f[2]))
            files[build, default: [:]][key, default: []].insert(hash)
            if hashes[hash] == nil { hashes[hash] = build }
        }
        if bad > 0 { problems.append("\(label): \(bad) line(s) are not SHA256,build,path and were skipped") }
    }

    /// Adds another set's builds and files.
    public mutating func merge(_ other: ExchangeBaselines) {
        for (build, paths) in other.files {
            for (path, hs) in paths { files[build, default: [:]][path, default: []].formUnion(hs) }
        }
        for (hash, build) in other.hashes where hashes[hash] == nil { hashes[hash] = build }
        problems += other.problems
    }

    /// Which builds are loaded and how many entries each has: for the rules digest.
    public var fingerprint: String {
        files.keys.sorted().map { b in "\(b):\(files[b]?.values.reduce(0) { $0 + $1.count } ?? 0)" }.joined(separator: ",")
    }

    /// `15.1.2176.2` from `15.1.2176.2`, `15.01.2176.002` (log headers) or `15.1.2176` (three parts).
    public static func build(_ text: String) -> String? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".")
        guard parts.count == 3 || parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 6 && $0.allSatisfy(\.isNumber) }),
              let major = Int(parts[0]), major >= 14, major <= 16 else { return nil }
        return parts.compactMap { Int($0).map(String.init) }.joined(separator: ".")
    }

    /// The path relative to Exchange's install folder (`frontend\httpproxy\owa\auth\logon.aspx`),
    /// lowercase, with version folders written `version`; nil when the file is not under one of
    /// Exchange's web folders (`FrontEnd\HttpProxy`, `ClientAccess`).
    public static func relativePath(ofWindowsPath path: String) -> String? {
        let parts = path.lowercased().split(whereSeparator: { $0 == "\\" || $0 == "/" }).map(String.init)
        guard let i = parts.indices.first(where: { j in
            (parts[j] == "frontend" && j + 1 < parts.count && parts[j + 1] == "httpproxy") || parts[j] == "clientaccess"
        }) else { return nil }
        return normalize(parts[i...].joined(separator: "\\"))
    }

    /// The builds a path's version folders name (`owa\auth\15.1.2176.2\…`).
    public static func versionFolders(inWindowsPath path: String) -> [String] {
        guard relativePath(ofWindowsPath: path) != nil else { return [] }
        return path.split(whereSeparator: { $0 == "\\" || $0 == "/" }).dropLast().compactMap { build(String($0)) }
    }

    /// Lowercase, backslashes, no leading separator, and any build-named folder written `version`
    /// as the baselines do. A bare `Autodiscover\…` is under `ClientAccess`.
    static func normalize(_ path: String) -> String {
        var parts = path.lowercased().split(whereSeparator: { $0 == "\\" || $0 == "/" }).map(String.init)
        for i in parts.indices.dropLast() where build(parts[i]) != nil { parts[i] = "version" }
        if let first = parts.first, first != "frontend", first != "clientaccess" { parts.insert("clientaccess", at: 0) }
        return parts.joined(separator: "\\")
    }

    /// Judges a file of Exchange's web folders against `installed` builds' baselines (every
    /// loaded build when none is given); nil when the file is not in those folders.
    public func judge(windowsPath: String, sha256: String, installed: [String]) -> Judgement? {
        guard let key = Self.relativePath(ofWindowsPath: windowsPath) else { return nil }
        // Some version folders are left out of the baselines' paths (`owa\prem\<build>\fonts` is
        // `owa\prem\fonts` there): a path is looked up both ways.
        let keys = [key, key.split(separator: "\\").filter { $0 != "version" }.joined(separator: "\\")]
        let hash = sha256.lowercased()
        let builds = installed.isEmpty ? self.builds : installed.filter { files[$0] != nil }
        var shipsPath: [String] = []
        for b in builds {
            guard let known = keys.lazy.compactMap({ files[b]?[$0] }).first else { continue }
            if known.contains(hash) { return .knownGood(build: b) }
            shipsPath.append(b)
        }
        if !shipsPath.isEmpty { return .modified(builds: shipsPath) }
        // Exchange's own content in another place (a copy of one of its pages) is not a shell.
        if let b = hashes[hash] { return .knownGood(build: b) }
        return .unknown
    }
}
