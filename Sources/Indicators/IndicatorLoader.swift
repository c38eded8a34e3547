public import Foundation
import Yams
import HuntCore

/// Reads indicator files in the formats published for the March 2021 attacks: CSV with a header
/// (exhunt's `type,value,source`, MSTIC's `…,Indicator,IndicatorType,…`, Volexity's
/// `value,type,notes`), plain lists of hashes, STIX 2.1 bundles, and CHIRP YAML (whose embedded
/// YARA rules are returned for compiling).
public enum IndicatorLoader {
    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public var file: String
        public var message: String
        public var description: String { "\(file): \(message)" }
    }

    /// Loads one file or every `.csv/.txt/.json/.yaml/.yml/.sha256/.sha1/.md5` file in a folder.
    public static func load(_ url: URL, label: String? = nil) throws -> (set: IndicatorSet, warnings: [String]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw LoadError(file: url.path, message: "no such file or folder")
        }
        if isDir.boolValue {
            var set = IndicatorSet()
            var warnings: [String] = []
            let files = (FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
                .filter { ["csv", "txt", "json", "yaml", "yml", "sha256", "sha1", "md5"].contains($0.pathExtension.lowercased()) }
                .sorted { $0.path < $1.path }
            // One unreadable or foreign file (a `.json` that is not STIX) is a warning: the
            // folder's other files still load.
            for f in files {
                let fileLabel = (label.map { $0 + "/" } ?? "") + f.lastPathComponent
                do {
                    let r = try load(f, label: fileLabel)
                    set.merge(r.set)
                    warnings += r.warnings
                } catch {
                    warnings.append(error is LoadError ? "\(error); skipped" : "\(fileLabel): \(error); skipped")
                }
            }
            return (set, warnings)
        }
        let name = label ?? url.lastPathComponent
        let data = try Data(contentsOf: url)
        guard data.count <= 256 << 20 else { throw LoadError(file: name, message: "larger than 256 MiB") }
        let text = String(decoding: data, as: UTF8.self)
        let trimmed = text.drop { $0.isWhitespace || $0 == "\u{FEFF}" }
        switch url.pathExtension.lowercased() {
        case "json": return try stix(text, name)
        case "yaml", "yml": return try chirp(text, name)
        default:
            if trimmed.hasPrefix("{") { return try stix(text, name) }
            return csv(text, name)
        }
    }

    // MARK: - CSV and plain lists

    static func csv(_ text: String, _ name: String) -> (IndicatorSet, [String]) {
        var set = IndicatorSet()
        var warnings: [String] = []
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.hasPrefix("#") && !trim($0).isEmpty }
        guard let first = lines.first else { return (set, ["\(name): no indicators"]) }
        let header = fields(first).map { $0.lowercased() }
        let valueColumn = header.firstIndex { ["value", "indicator", "ioc", "sha256", "hash"].contains($0) }
        let typeColumn = header.firstIndex { ["type", "indicatortype", "ioc_type", "ioctype"].contains($0) }
        let sourceColumn = header.firstIndex { ["source", "notes", "description", "name"].contains($0) }
        let rows = valueColumn == nil ? lines : Array(lines.dropFirst())
        for (i, line) in rows.enumerated() {
            let f = fields(line)
            // A plain list: one value per line, optionally `value;description` (LOKI) or `value  name`.
            let rawValue = valueColumn.map { $0 < f.count ? f[$0] : "" }
                ?? String(line.split(whereSeparator: { $0 == ";" || $0 == " " || $0 == "\t" || $0 == "," }).first ?? "")
            let typeName = typeColumn.flatMap { $0 < f.count ? f[$0] : nil }
            let kind = typeName.flatMap(Indicator.kind(named:)) ?? Indicator.infer(rawValue)
            guard let kind else {
                if warnings.count < 20 { warnings.append("\(name): line \(i + (valueColumn == nil ? 1 : 2)): cannot tell what '\(rawValue.prefix(60))' is; skipped") }
                continue
            }
            let note = sourceColumn.flatMap { $0 < f.count ? f[$0] : nil } ?? ""
            set.add(Indicator(kind: kind, value: rawValue, source: name, note: note))
        }
        return (set, warnings)
    }

    /// Splits one CSV line, honouring quotes, and trims the fields.
    static func fields(_ line: String) -> [String] { CSVLine.split(line).map(trim) }

    /// Spaces and tabs off both ends (Foundation's trimming is costly at this rate).
    static func trim(_ s: String) -> String {
        var sub = Substring(s)
        while let f = sub.first, f == " " || f == "\t" { sub.removeFirst() }
        while let l = sub.last, l == " " || l == "\t" || l == "\r" { sub.removeLast() }
        return String(sub)
    }

    // MARK: - STIX 2.1

    /// `indicator` objects with `pattern_type: stix` patterns. Every comparison of a supported
    /// object path becomes an indicator; comparisons joined by AND are each taken alone (a
    /// looser match than the pattern), which the warnings say.
    static func stix(_ text: String, _ name: String) throws -> (IndicatorSet, [String]) {
        guard let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw LoadError(file: name, message: "not a JSON object")
        }
        let objects = (root["objects"] as? [[String: Any]]) ?? (root["type"] as? String == "indicator" ? [root] : [])
        var set = IndicatorSet()
        var warnings: [String] = []
        let comparison = try NSRegularExpression(pattern: #"([a-z0-9-]+:[A-Za-z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.)*)'"#)
        for o in objects where o["type"] as? String == "indicator" {
            guard let pattern = o["pattern"] as? String else { continue }
            if let t = o["pattern_type"] as? String, t != "stix" {
                warnings.append("\(name): indicator \(o["id"] as? String ?? "?"): pattern_type \(t) not supported; skipped")
                continue
            }
            if pattern.range(of: " AND ", options: .caseInsensitive) != nil {
                warnings.append("\(name): indicator \(o["id"] as? String ?? "?"): AND patterns are matched per comparison")
            }
            let label = (o["name"] as? String) ?? (o["description"] as? String) ?? ""
            for m in comparison.matches(in: pattern, range: NSRange(pattern.startIndex..., in: pattern)) {
                guard let p = Range(m.range(at: 1), in: pattern), let v = Range(m.range(at: 2), in: pattern) else { continue }
                let path = pattern[p].lowercased().replacingOccurrences(of: "'", with: "")
                let value = String(pattern[v]).replacingOccurrences(of: "\\\\", with: "\\").replacingOccurrences(of: "\\'", with: "'")
                let kind: Indicator.Kind?
                switch path {
                case "file:hashes.sha-256", "file:hashes.sha256": kind = .sha256
                case "file:hashes.sha-1", "file:hashes.sha1": kind = .sha1
                case "file:hashes.md5": kind = .md5
                case "file:name": kind = .fileName
                case "file:parent_directory_ref.path", "directory:path": kind = .filePath
                case "ipv4-addr:value", "ipv6-addr:value", "network-traffic:src_ref.value": kind = .ip
                case "domain-name:value": kind = .domain
                default: kind = nil
                }
                guard let kind else {
                    warnings.append("\(name): object path \(path) not supported; skipped")
                    continue
                }
                set.add(Indicator(kind: kind, value: value, source: name, note: label))
            }
        }
        return (set, warnings)
    }

    // MARK: - CHIRP YAML

    /// CISA CHIRP indicator files: YAML documents with `ioc_type` network (IP lists), yara
    /// (a rule to compile) or events (event log queries, not handled here).
    static func chirp(_ text: String, _ name: String) throws -> (IndicatorSet, [String]) {
        var set = IndicatorSet()
        var warnings: [String] = []
        let documents: [Node]
        guard YAMLNesting.depth(text) <= YAMLNesting.limit else {
            throw LoadError(file: name, message: "YAML nested more than \(YAMLNesting.limit) levels deep")
        }
        // Document by document: `compose_all` stops silently at a document that does not parse.
        do {
            let parser = try Yams.Parser(yaml: text)
            var all: [Node] = []
            while let d = try parser.nextRoot() { all.append(d) }
            documents = all
        } catch {
            throw LoadError(file: name, message: "YAML: \(error)")
        }
        for (i, doc) in documents.enumerated() {
            let title = doc["name"]?.string ?? "document \(i + 1)"
            switch doc["ioc_type"]?.string?.lowercased() {
            case "network":
                let ips = doc["indicator"]?["ips"]?.string ?? ""
                for ip in ips.split(whereSeparator: \.isWhitespace) {
                    set.add(Indicator(kind: .ip, value: String(ip), source: name, note: title))
                }
                for d in (doc["indicator"]?["domains"]?.string ?? "").split(whereSeparator: \.isWhitespace) {
                    set.add(Indicator(kind: .domain, value: String(d), source: name, note: title))
                }
            case "yara":
                if let rule = doc["indicator"]?["rule"]?.string {
                    // Each document compiles alone: CHIRP files reuse rule names across documents.
                    set.addYara(label: "\(name)#\(i + 1) \(title)", text: rule)
                }
            default:
                warnings.append("\(name): \(title): ioc_type \(doc["ioc_type"]?.string ?? "?") not handled; skipped")
            }
        }
        return (set, warnings)
    }
}
