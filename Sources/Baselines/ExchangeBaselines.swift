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
    /// Read on bytes (Microsoft's files have about 17,000 lines each, and 133 builds were published):
    /// a String is made only for what is kept.
    public mutating func add(csv data: Data, label: String) {
        let bytes = [UInt8](data)
        var at = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var bad = 0, read = 0
        // Every line of one file names the same build: its text is parsed once.
        var lastBuild: (text: ArraySlice<UInt8>, build: String?) = ([], nil)
        while at < bytes.count {
            let end = bytes[at...].firstIndex { $0 == 0x0A || $0 == 0x0D } ?? bytes.count
            defer { at = end + 1 }
            guard end > at else { continue }
            read += 1
            guard read <= Self.maxLinesPerFile else {
                problems.append("\(label): more than \(Self.maxLinesPerFile) lines; the rest were not read")
                break
            }
            let line = bytes[at..<end]
            guard let c1 = line.firstIndex(of: 0x2C), let c2 = line[(c1 + 1)...].firstIndex(of: 0x2C), c1 - line.startIndex == 64,
                  line[..<c1].allSatisfy(Self.isHexDigit) else {
                bad += 1
                continue
            }
            let buildText = line[(c1 + 1)..<c2]
            if buildText != lastBuild.text { lastBuild = (buildText, Self.build(String(decoding: buildText, as: UTF8.self))) }
            guard let build = lastBuild.build else {
                bad += 1
                continue
            }
            let hash = String(decoding: line[..<c1].map { $0 | 0x20 }, as: UTF8.self)
            let key = Self.normalize(bytes: line[(c2 + 1)...])
            files[build, default: [:]][key, default: []].insert(hash)
            if hashes[hash] == nil { hashes[hash] = build }
        }
        if bad > 0 { problems.append("\(label): \(bad) line(s) are not SHA256,build,path and were skipped") }
    }

    static func isHexDigit(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b)
    }

    /// `normalize` on a path's bytes; paths with other than ASCII go through the String form.
    static func normalize(bytes path: ArraySlice<UInt8>) -> String {
        // Other than ASCII (never in Microsoft's lists): lowercased as Unicode, once.
        let lower = path.allSatisfy({ $0 < 0x80 }) ? path.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
            : Array(String(decoding: path, as: UTF8.self).lowercased().utf8)
        var parts = lower.split(whereSeparator: { $0 == 0x5C || $0 == 0x2F })
        for i in parts.indices.dropLast() {
            let p = parts[i]
            // Only a part of digits and dots can be a build: the String check runs on those alone.
            guard p.allSatisfy({ (0x30...0x39).contains($0) || $0 == 0x2E }), build(String(decoding: p, as: UTF8.self)) != nil else { continue }
            parts[i] = ArraySlice("version".utf8)
        }
        var out: [UInt8] = []
        out.reserveCapacity(lower.count + 16)
        if let first = parts.first, !first.elementsEqual("frontend".utf8), !first.elementsEqual("clientaccess".utf8) {
            out += "clientaccess\\".utf8
        }
        for (i, p) in parts.enumerated() {
            if i > 0 { out.append(0x5C) }
            out += p
        }
        return String(decoding: out, as: UTF8.self)
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
    /// On bytes: it runs for every part of every path compared, and only ASCII digits make a build.
    public static func build(_ text: String) -> String? {
        var bytes = Array(text.utf8)[...]
        while let f = bytes.first, f == 0x20 || f == 0x09 { bytes.removeFirst() }
        while let l = bytes.last, l == 0x20 || l == 0x09 { bytes.removeLast() }
        guard let first = bytes.first, (0x31...0x39).contains(first) else { return nil }
        let parts = bytes.split(separator: 0x2E, omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 4,
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 6 && $0.allSatisfy { (0x30...0x39).contains($0) } }) else { return nil }
        // At most six digits each: no overflow.
        let numbers = parts.map { $0.reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        guard numbers[0] >= 14, numbers[0] <= 16 else { return nil }
        return numbers.map(String.init).joined(separator: ".")
    }

    /// The path relative to Exchange's install folder (`frontend\httpproxy\owa\auth\logon.aspx`),
    /// lowercase, with version folders written `version`; nil when the file is not under one of
    /// Exchange's web folders (`FrontEnd\HttpProxy`, `ClientAccess`).
    public static func relativePath(ofWindowsPath path: String) -> String? {
        // On bytes: it runs for every file of a hunt's web folders.
        let bytes = Array(path.utf8)
        let parts = bytes.split(whereSeparator: { $0 == 0x5C || $0 == 0x2F })
        // (Only the letters of `word` pass `| 0x20`: a byte equal to one after it is that letter in either case.)
        func named(_ p: ArraySlice<UInt8>, _ word: String) -> Bool {
            p.count == word.utf8.count && zip(p, word.utf8).allSatisfy { ($0 | 0x20) == $1 }
        }
        guard let i = parts.indices.first(where: { j in
            (named(parts[j], "frontend") && j + 1 < parts.count && named(parts[j + 1], "httpproxy")) || named(parts[j], "clientaccess")
        }) else { return nil }
        return normalize(bytes: Array(parts[i...].joined(separator: [0x5C]))[...])
    }

    /// The builds a path's version folders name (`owa\auth\15.1.2176.2\…`).
    public static func versionFolders(inWindowsPath path: String) -> [String] {
        guard relativePath(ofWindowsPath: path) != nil else { return [] }
        return path.split(whereSeparator: { $0 == "\\" || $0 == "/" }).dropLast().compactMap { build(String($0)) }
    }

    /// Lowercase, backslashes, no leading separator, and any build-named folder written `version`
    /// as the baselines do. A bare `Autodiscover\…` is under `ClientAccess`.
    static func normalize(_ path: String) -> String {
        normalize(bytes: Array(path.utf8)[...])
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
