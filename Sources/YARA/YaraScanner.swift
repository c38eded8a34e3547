public import Foundation
import CYara

/// One rule that matched, copied out of libyara into Swift values.
public struct YaraMatch: Sendable, Hashable {
    public struct StringMatch: Sendable, Hashable {
        public var identifier: String
        public var offset: Int64
        /// The matched bytes (at most 64), for the report.
        public var data: [UInt8]
    }

    public var rule: String
    /// The rule file's label (as given to `YaraRules.compile`).
    public var source: String
    public var tags: [String]
    /// Metadata as text (`author`, `reference`, `description`, `date`, …); integers and booleans
    /// are rendered as text.
    public var meta: [String: String]
    public var strings: [StringMatch]
}

/// Scans bytes with compiled rules. One per thread: a scanner holds per-scan state.
public final class YaraScanner {
    private let rules: YaraRules
    private let handle: UnsafeMutablePointer<YR_SCANNER>
    private let collector = Collector()
    /// Per-file scan timeout in seconds; a pathological rule or file cannot hang the hunt.
    public var timeout: Int32 = 60 {
        didSet { yr_scanner_set_timeout(handle, timeout) }
    }

    final class Collector {
        var matches: [YaraMatch] = []
        var sources: [String: String] = [:]
        var tooManyMatches = false
    }

    public init(rules: YaraRules) throws {
        self.rules = rules
        var scanner: UnsafeMutablePointer<YR_SCANNER>?
        guard yr_scanner_create(rules.handle, &scanner) == ERROR_SUCCESS, let scanner else {
            throw YaraCompileError(file: "libyara", line: 0, message: "cannot create scanner", isWarning: false)
        }
        handle = scanner
        collector.sources = rules.sources
        yr_scanner_set_callback(handle, { context, message, data, user in
            guard let user else { return CALLBACK_ERROR }
            let c = Unmanaged<Collector>.fromOpaque(user).takeUnretainedValue()
            if message == CALLBACK_MSG_TOO_MANY_MATCHES { c.tooManyMatches = true }
            guard message == CALLBACK_MSG_RULE_MATCHING, let context, let data else { return CALLBACK_CONTINUE }
            let rule = data.assumingMemoryBound(to: YR_RULE.self)
            c.matches.append(YaraScanner.copy(rule, context, c.sources))
            return CALLBACK_CONTINUE
        }, Unmanaged.passUnretained(collector).toOpaque())
        // Only matches call back; libyara would otherwise call once per rule that did not match.
        yr_scanner_set_flags(handle, SCAN_FLAGS_REPORT_RULES_MATCHING)
        yr_scanner_set_timeout(handle, timeout)
    }

    deinit { yr_scanner_destroy(handle) }

    public struct ScanError: Error, CustomStringConvertible {
        public var code: Int32
        public var description: String {
            code == ERROR_SCAN_TIMEOUT ? "YARA scan timed out" : code == ERROR_INSUFFICIENT_MEMORY ? "YARA ran out of memory" : "YARA scan error \(code)"
        }
    }

    /// Scans `bytes`, with the external variables set for this file.
    public func scan(_ bytes: UnsafeRawBufferPointer, externals: [String: String] = [:]) throws -> [YaraMatch] {
        for name in YaraRules.externalNames {
            _ = yr_scanner_define_string_variable(handle, name, externals[name] ?? "")
        }
        collector.matches = []
        collector.tooManyMatches = false
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let status = yr_scanner_scan_mem(handle, base, bytes.count)
        guard status == ERROR_SUCCESS else { throw ScanError(code: status) }
        return collector.matches
    }

    public func scan(_ bytes: [UInt8], externals: [String: String] = [:]) throws -> [YaraMatch] {
        try bytes.withUnsafeBytes { try scan($0, externals: externals) }
    }

    static func copy(_ rule: UnsafeMutablePointer<YR_RULE>, _ context: UnsafeMutablePointer<YR_SCAN_CONTEXT>,
                     _ sources: [String: String]) -> YaraMatch {
        let ns = String(cString: exhunt_rule_namespace(rule))
        var tags: [String] = []
        if var t = exhunt_rule_tags(rule) {
            while t.pointee != 0 {
                let tag = String(cString: t)
                tags.append(tag)
                t += tag.utf8.count + 1
            }
        }
        var meta: [String: String] = [:]
        var m = exhunt_meta_first(rule)
        while let current = m {
            let key = String(cString: exhunt_meta_identifier(current))
            switch exhunt_meta_type(current) {
            case Int32(META_TYPE_STRING): meta[key] = exhunt_meta_string(current).map { String(cString: $0) } ?? ""
            case Int32(META_TYPE_BOOLEAN): meta[key] = exhunt_meta_integer(current) != 0 ? "true" : "false"
            default: meta[key] = String(exhunt_meta_integer(current))
            }
            m = exhunt_meta_next(current)
        }
        var strings: [YaraMatch.StringMatch] = []
        var s = exhunt_string_first(rule)
        while let current = s {
            let id = String(cString: exhunt_string_identifier(current))
            var match = exhunt_match_first(context, current)
            while let mm = match, strings.count < 1000 {
                let n = Int(min(mm.pointee.data_length, 64))
                let data = n > 0 && mm.pointee.data != nil ? Array(UnsafeBufferPointer(start: mm.pointee.data, count: n)) : []
                strings.append(.init(identifier: id, offset: mm.pointee.base + mm.pointee.offset, data: data))
                match = exhunt_match_next(mm)
            }
            s = exhunt_string_next(current)
        }
        return YaraMatch(rule: String(cString: exhunt_rule_identifier(rule)), source: sources[ns] ?? ns,
                         tags: tags, meta: meta, strings: strings)
    }
}
