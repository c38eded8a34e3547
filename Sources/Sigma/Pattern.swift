import Foundation

/// One compiled Sigma value: what a field's value (or the whole event, for keywords) must be.
/// Comparisons fold ASCII case unless the rule says `|cased`; regexes follow their own flags.
indirect enum Pattern: Sendable {
    /// Wildcard pattern over lowercased UTF-8 (`*` any run, `?` one character); plain values compile
    /// to this with no wildcards, `contains` wraps it in `*…*`.
    case glob(Glob)
    case regex(RegexBox)
    /// `null` in YAML: the field is absent or empty.
    case null
    /// `|exists: true/false`: whether the event has the field at all, whatever its value (an
    /// empty value is a value).
    case exists(Bool)
    /// Any of several spellings of one value (`|windash`, `|base64offset`).
    case any([Pattern])
    /// `|cidr`: an IP address inside a network.
    case cidr(CIDR)
    /// `|lt`, `|lte`, `|gt`, `|gte`: numeric comparison.
    case numeric(NumericOp, Double)
    /// `|neq`: anything but this value.
    case not(Pattern)
    /// Many `contains` values of one field, searched in one pass over the value.
    case containsAny(MultiLiteral)
    /// `|fieldref`: equal to (or, with contains/startswith/endswith, related to) another field's value.
    case fieldRef(String, contains: Bool, startsWith: Bool, endsWith: Bool, cased: Bool)

    enum NumericOp: Sendable { case lt, lte, gt, gte }

    func matches(_ value: String?) -> Bool {
        switch self {
        case .any(let list): return list.contains { $0.matches(value) }
        case .containsAny(let m):
            guard var value else { return false }
            return value.withUTF8 { m.matches($0) }
        case .cidr(let net):
            guard let value else { return false }
            return net.contains(value)
        case .numeric(let op, let bound):
            guard let value, let v = Double(value.trimmingSpacesAndQuotes) else { return false }
            switch op {
            case .lt: return v < bound
            case .lte: return v <= bound
            case .gt: return v > bound
            case .gte: return v >= bound
            }
        case .not(let p): return !p.matches(value)
        case .fieldRef: return false  // needs the event; FieldTest evaluates it
        case .null: return value?.isEmpty ?? true
        case .exists(let want): return (value != nil) == want
        case .glob(let g):
            guard let value else { return false }
            return g.matches(value)
        case .regex(let r):
            guard let value else { return false }
            return r.matches(value)
        }
    }

    var regexes: [RegexBox] {
        switch self {
        case .regex(let r): return [r]
        case .any(let list): return list.flatMap(\.regexes)
        case .not(let p): return p.regexes
        default: return []
        }
    }

    /// Literals of which any matching value contains one, lowercased; nil when none is known.
    var requiredLiterals: Set<String>? {
        switch self {
        case .glob(let g): return g.longestLiteral.map { [$0] }
        case .any(let list):
            var out = Set<String>()
            for p in list {
                guard let l = p.requiredLiterals else { return nil }
                out.formUnion(l)
            }
            return out.isEmpty ? nil : out
        case .containsAny(let m): return m.literalsForPrefilter
        default: return nil
        }
    }
}

/// `NSRegularExpression` is not `Sendable`, but it is immutable once made and documented as
/// safe to use from several threads.
///
/// A rule's regular expression meets attacker-controlled values: a backtracking pattern on a
/// crafted value could run for hours. Each match has a budget of steps (ICU reports progress
/// about every 10,000 steps); a match that exhausts it counts as no match, and is counted in
/// `overruns` so the hunt reports it. Patterns are bounded in size when compiled.
struct RegexBox: @unchecked Sendable {
    let regex: NSRegularExpression
    let overruns: RegexOverruns

    /// Progress reports (about 10,000 ICU steps each) one match may take: about 0.1 s here.
    static let stepBudget = 1_000
    /// Longer patterns are refused: no Sigma rule needs one, and compiling costs with size.
    static let maxPatternLength = 8_192

    struct TooLong: Error, CustomStringConvertible {
        var length: Int
        var description: String { "regular expression of \(length) characters (at most \(RegexBox.maxPatternLength))" }
    }

    init(_ pattern: String, options: NSRegularExpression.Options) throws {
        guard pattern.utf16.count <= Self.maxPatternLength else { throw TooLong(length: pattern.utf16.count) }
        regex = try NSRegularExpression(pattern: pattern, options: options)
        overruns = RegexOverruns()
    }

    func matches(_ s: String) -> Bool {
        firstMatch(s) != nil
    }

    /// The first capture group of the first match, or the whole match.
    func capture(_ s: String) -> String? {
        guard let m = firstMatch(s) else { return nil }
        let r = m.numberOfRanges > 1 && m.range(at: 1).location != NSNotFound ? m.range(at: 1) : m.range
        return Range(r, in: s).map { String(s[$0]) }
    }

    private func firstMatch(_ s: String) -> NSTextCheckingResult? {
        var found: NSTextCheckingResult?
        var steps = 0
        regex.enumerateMatches(in: s, options: .reportProgress, range: NSRange(s.startIndex..., in: s)) { m, _, stop in
            if let m {
                found = m
                stop.pointee = true
                return
            }
            steps += 1
            if steps >= Self.stepBudget { stop.pointee = true }
        }
        if found == nil && steps >= Self.stepBudget { overruns.add() }
        return found
    }
}

/// How many values a regular expression gave up on (shared by the copies of one `RegexBox`).
final class RegexOverruns: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// A Sigma wildcard string, split into literal runs and wildcards at compile time.
struct Glob: Sendable {
    enum Token: Sendable, Equatable { case literal([UInt8]), star, one }
    let tokens: [Token]
    let cased: Bool

    /// Parses Sigma's escaping: `\*`, `\?` and `\\` are literal; any other `\` is a backslash.
    init(sigma value: String, cased: Bool, wrapStart: Bool = false, wrapEnd: Bool = false) {
        var tokens: [Token] = wrapStart ? [.star] : []
        var lit: [UInt8] = []
        func flush() { if !lit.isEmpty { tokens.append(.literal(lit)); lit = [] } }
        let bytes = Array(value.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\\"), i + 1 < bytes.count,
               [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "\\")].contains(bytes[i + 1]) {
                lit.append(bytes[i + 1]); i += 2; continue
            }
            if b == UInt8(ascii: "*") { flush(); if tokens.last != .star { tokens.append(.star) } }
            else if b == UInt8(ascii: "?") { flush(); tokens.append(.one) }
            else { lit.append(cased ? b : Glob.fold(b)) }
            i += 1
        }
        flush()
        if wrapEnd, tokens.last != .star { tokens.append(.star) }
        self.tokens = tokens
        self.cased = cased
    }

    @inline(__always) static func fold(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

    var longestLiteral: String? {
        var best: [UInt8] = []
        for case .literal(let l) in tokens where l.count > best.count { best = l }
        guard !best.isEmpty else { return nil }
        // A value containing `"` is written `""` inside quoted CSV, so the raw line would not
        // contain it; a `?` may be where a derived field joined two columns (IIS stem and query
        // are apart in the raw line): keep the longest part free of both.
        let parts = best.split(whereSeparator: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "?") })
        guard let part = parts.max(by: { $0.count < $1.count }), !part.isEmpty else { return nil }
        // Folded as matching folds (ASCII only): Unicode lowercasing would ask for bytes a
        // matching value need not contain.
        return String(decoding: part.map(Glob.fold), as: UTF8.self)
    }

    func matches(_ value: String) -> Bool {
        var value = value
        // Match on the string's own UTF-8 storage, folding case as bytes are compared: no copy.
        return value.withUTF8 { Glob.match(tokens, $0, fold: !cased) }
    }

    private static func match(_ t: [Token], _ s: UnsafeBufferPointer<UInt8>, fold: Bool) -> Bool {
        // Fast paths for the shapes rules use most: exact, prefix, suffix, contains.
        if t.count == 1, case .literal(let l) = t[0] { return s.count == l.count && equal(s, 0, l, fold) }
        if t.count == 2, case .literal(let l) = t[0], t[1] == .star { return s.count >= l.count && equal(s, 0, l, fold) }
        if t.count == 2, t[0] == .star, case .literal(let l) = t[1] { return s.count >= l.count && equal(s, s.count - l.count, l, fold) }
        if t.count == 3, t[0] == .star, t[2] == .star, case .literal(let l) = t[1] { return find(s, 0, l, fold) != nil }
        var ti = 0, si = 0
        var starT = -1, starS = -1
        while si < s.count || ti < t.count {
            if ti < t.count {
                switch t[ti] {
                case .star:
                    starT = ti; starS = si; ti += 1; continue
                case .one:
                    // One character: a UTF-8 lead byte and its continuation bytes.
                    if si < s.count {
                        ti += 1; si += 1
                        while si < s.count && s[si] & 0xC0 == 0x80 { si += 1 }
                        continue
                    }
                case .literal(let l):
                    if s.count - si >= l.count && equal(s, si, l, fold) {
                        ti += 1; si += l.count; continue
                    }
                }
            }
            guard starT >= 0, starS < s.count else { return false }
            starS += 1
            si = starS
            ti = starT + 1
        }
        return true
    }

    @inline(__always)
    private static func equal(_ s: UnsafeBufferPointer<UInt8>, _ at: Int, _ l: [UInt8], _ fold: Bool) -> Bool {
        for i in 0..<l.count {
            let b = s[at + i]
            if (fold ? Glob.fold(b) : b) != l[i] { return false }
        }
        return true
    }

    private static func find(_ s: UnsafeBufferPointer<UInt8>, _ from: Int, _ l: [UInt8], _ fold: Bool) -> Int? {
        guard !l.isEmpty else { return from }
        guard s.count >= l.count else { return nil }
        let first = l[0]
        var i = from
        while i <= s.count - l.count {
            let b = fold ? Glob.fold(s[i]) : s[i]
            if b == first && equal(s, i, l, fold) { return i }
            i += 1
        }
        return nil
    }
}

extension String {
    var trimmingSpacesAndQuotes: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\"" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\"" { s.removeLast() }
        return String(s)
    }
}

/// An IPv4 or IPv6 network for `|cidr`.
struct CIDR: Sendable {
    let network: [UInt8]
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let address = CIDR.parse(String(first)) else { return nil }
        let bits = parts.count == 2 ? Int(parts[1]) : address.count * 8
        guard let bits, bits >= 0, bits <= address.count * 8 else { return nil }
        network = address
        prefix = bits
    }

    func contains(_ value: String) -> Bool {
        guard let a = CIDR.parse(value.trimmingSpacesAndQuotes), a.count == network.count else { return false }
        var remaining = prefix
        for i in 0..<a.count where remaining > 0 {
            let take = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
            if a[i] & mask != network[i] & mask { return false }
            remaining -= take
        }
        return true
    }

    static func parse(_ s: String) -> [UInt8]? {
        var s = s
        if let pct = s.firstIndex(of: "%") { s = String(s[..<pct]) }
        if s.contains(":") {
            var addr = in6_addr()
            return inet_pton(AF_INET6, s, &addr) == 1 ? withUnsafeBytes(of: addr) { Array($0) } : nil
        }
        var addr = in_addr()
        return inet_pton(AF_INET, s, &addr) == 1 ? withUnsafeBytes(of: addr) { Array($0) } : nil
    }
}

/// Literals bucketed by their first (case-folded) byte: one pass over a value checks all of them,
/// instead of one scan per literal. Rules with a hundred user-agent fragments need this.
struct MultiLiteral: Sendable {
    private let buckets: [[[UInt8]]]
    private let fold: Bool
    let literalsForPrefilter: Set<String>?

    init?(_ globs: [Glob]) {
        var buckets = [[[UInt8]]](repeating: [], count: 256)
        var cased: Bool?
        var texts = Set<String>()
        for g in globs {
            guard g.tokens.count == 3, g.tokens[0] == .star, g.tokens[2] == .star, case .literal(let l) = g.tokens[1], !l.isEmpty else { return nil }
            if let c = cased, c != g.cased { return nil }
            cased = g.cased
            buckets[Int(l[0])].append(l)
            if let t = g.longestLiteral { texts.insert(t) }
        }
        guard cased != nil else { return nil }
        self.buckets = buckets
        self.fold = !(cased ?? false)
        literalsForPrefilter = texts.count == globs.count ? texts : nil
    }

    func matches(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in 0..<s.count {
            let b = fold ? Glob.fold(s[i]) : s[i]
            for l in buckets[Int(b)] where s.count - i >= l.count {
                var ok = true
                for j in 1..<l.count {
                    let c = fold ? Glob.fold(s[i + j]) : s[i + j]
                    if c != l[j] { ok = false; break }
                }
                if ok { return true }
            }
        }
        return false
    }
}
