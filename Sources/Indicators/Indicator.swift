import Foundation

/// One published indicator of compromise.
public struct Indicator: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case sha256, sha1, md5
        /// A file name, matched against the last path component.
        case fileName = "filename"
        /// A file path, matched by its suffix below the install root (see `IndicatorSet.pathKey`).
        case filePath = "filepath"
        case ip
        case domain
    }

    public var kind: Kind
    /// Normalised: lowercase; paths with backslashes.
    public var value: String
    /// Where the indicator was published (feed name, file), kept with every match.
    public var source: String
    public var note: String

    public init(kind: Kind, value: String, source: String, note: String = "") {
        self.kind = kind
        self.value = IndicatorSet.normalise(value, kind)
        self.source = source
        self.note = note
    }

    /// Guesses the kind of an untyped value: hex lengths for hashes, dotted quads and colons
    /// for addresses, separators for paths.
    public static func infer(_ raw: String) -> Kind? {
        let v = IndicatorLoader.trim(raw)
        let hex = !v.isEmpty && v.allSatisfy(\.isHexDigit)
        if hex && v.count == 64 { return .sha256 }
        if hex && v.count == 40 { return .sha1 }
        if hex && v.count == 32 { return .md5 }
        if IndicatorSet.isIPv4(v) || (v.contains(":") && v.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }) { return .ip }
        if v.contains("\\") || v.contains("/") { return .filePath }
        if v.contains(".") && !v.contains(" ") {
            let ext = v.split(separator: ".").last.map(String.init)?.lowercased() ?? ""
            return ["aspx", "asmx", "ashx", "asp", "js", "dll", "exe", "ps1", "bat", "zip", "7z", "rar", "dmp", "log", "txt", "php", "jsp"]
                .contains(ext) ? .fileName : .domain
        }
        return nil
    }

    /// Maps the type names feeds use (`IndicatorType`, Volexity `type`, STIX object paths).
    public static func kind(named name: String) -> Kind? {
        switch name.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "") {
        case "sha256", "filehash256", "hashsha256": return .sha256
        case "sha1", "hashsha1": return .sha1
        case "md5", "hashmd5": return .md5
        case "filename", "name", "file": return .fileName
        case "filepath", "path": return .filePath
        case "ip", "ipaddress", "ipv4", "ipv6", "ipv4addr", "ipv6addr", "ipaddr": return .ip
        case "domain", "domainname", "hostname", "fqdn": return .domain
        default: return nil
        }
    }
}

