public import Foundation

/// A loaded set of indicators with the lookups the hunt needs.
public struct IndicatorSet: Sendable {
    public private(set) var all: [Indicator] = []
    private var byValue: [Indicator.Kind: [String: [Indicator]]] = [:]
    /// YARA rules that came embedded in an indicator file (CHIRP), with a label for each.
    public private(set) var yaraRules: [(label: String, text: String)] = []

    public init(_ indicators: [Indicator] = []) {
        for i in indicators { add(i) }
    }

    public mutating func add(_ i: Indicator) {
        guard !i.value.isEmpty else { return }
        if byValue[i.kind]?[i.value]?.contains(where: { $0.source == i.source }) == true { return }
        all.append(i)
        byValue[i.kind, default: [:]][i.value, default: []].append(i)
    }

    public mutating func merge(_ other: IndicatorSet) {
        for i in other.all { add(i) }
        yaraRules += other.yaraRules
    }

    mutating func addYara(label: String, text: String) { yaraRules.append((label, text)) }

    public var isEmpty: Bool { all.isEmpty && yaraRules.isEmpty }
    public func count(_ kind: Indicator.Kind) -> Int { byValue[kind]?.count ?? 0 }
    /// Whether MD5 or SHA-1 values are present (so files need those hashes too).
    public var needsLegacyHashes: Bool { count(.md5) + count(.sha1) > 0 }

    public func lookup(_ kind: Indicator.Kind, _ value: String) -> [Indicator] {
        guard let table = byValue[kind] else { return [] }
        // Hot: a client address on every log line. A value normalisation would leave as it is
        // (an address as logs write it) is looked up without being rebuilt.
        if kind != .filePath && kind != .fileName && Self.isNormal(value) { return table[value] ?? [] }
        return table[Self.normalise(value, kind)] ?? []
    }

    /// Whether `normalise` returns `value` unchanged for kinds other than paths and names:
    /// no upper case, no defanging, no white space or line breaks.
    static func isNormal(_ value: String) -> Bool {
        var any = false
        for b in value.utf8 {
            any = true
            if (0x41...0x5A).contains(b) || b == UInt8(ascii: "[") || b <= 0x20 || b >= 0x7F { return false }
        }
        return any
    }

    /// Indicators a file matches by name or path. Paths match by their part below the install
    /// root, so `E:\Exchange\FrontEnd\HttpProxy\owa\auth\x.aspx` matches a published
    /// `C:\Program Files\…\V15\FrontEnd\HttpProxy\owa\auth\x.aspx`.
    public func matchFile(windowsPath: String) -> [Indicator] {
        guard byValue[.fileName] != nil || byValue[.filePath] != nil else { return [] }
        let path = windowsPath.lowercased()
        let name = path.lastIndex(of: "\\").map { String(path[path.index(after: $0)...]) } ?? path
        var out = byValue[.fileName]?[name] ?? []
        if let key = Self.pathKey(path) { out += byValue[.filePath]?[key] ?? [] }
        return out
    }

    /// Addresses of `.ip` indicators, for the log scanner's literal prefilter.
    public var ipValues: [String] { Array(byValue[.ip]?.keys ?? [:].keys) }

    // MARK: - Normalisation

    /// Path roots that vary between installs; a path is keyed by what follows the last of them.
    static let roots = ["\\frontend\\httpproxy\\", "\\clientaccess\\", "\\inetpub\\wwwroot\\", "\\inetpub\\", "\\programdata\\",
                        "\\windows\\temp\\", "\\exchange server\\v15\\", "\\v15\\"]

    static func pathKey(_ normalisedPath: String) -> String? {
        let p = Array(("\\" + normalisedPath).utf8)
        for (root, bytes) in rootBytes {
            // Last occurrence of the root, searched on bytes (this runs for every file).
            var i = p.count - bytes.count
            while i >= 0 {
                if p[i] == bytes[0] && p[i..<i + bytes.count].elementsEqual(bytes) {
                    return root + String(decoding: p[(i + bytes.count)...], as: UTF8.self)
                }
                i -= 1
            }
        }
        return nil
    }

    private static let rootBytes = roots.map { ($0, Array($0.utf8)) }

    static func normalise(_ raw: String, _ kind: Indicator.Kind) -> String {
        var v = IndicatorLoader.trim(raw.contains("\n") ? raw.replacingOccurrences(of: "\n", with: "") : raw)
        // Feeds "defang" network indicators: 1.2.3[.]4.
        if v.contains("[") { v = v.replacingOccurrences(of: "[.]", with: ".").replacingOccurrences(of: "[:]", with: ":") }
        switch kind {
        case .filePath:
            v = String(v.lowercased().map { $0 == "/" ? "\\" : $0 })
            return pathKey(v) ?? v
        case .fileName:
            let lower = v.lowercased()
            return String(lower.split(whereSeparator: { $0 == "\\" || $0 == "/" }).last ?? "")
        default:
            return v.lowercased()
        }
    }

    public static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy { $0.isASCII && $0.isNumber } && (Int(p) ?? 256) <= 255 }
    }
}
