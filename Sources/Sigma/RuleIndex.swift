public import HuntCore

/// Rules compiled for one log source so that an event is checked only against the rules it could
/// match. Each rule gets a gate, a condition every event it matches meets: one of some literals
/// occurs in the event's text, or one of some fields has one of some exact values (or short
/// prefixes or suffixes). All literals
/// of all rules are found in one pass over the text, and each indexed field costs one hash
/// lookup. A rule with no gate (negations, regexes, very short values in `contains`) is always
/// checked. Gates only skip work: a rule that passes its gate is still matched in full.
public struct RuleIndex: Sendable {
    public let rules: [SigmaRule]
    private let always: [Int32]
    private let literals: LiteralHits
    private let literalRules: [[Int32]]
    /// Field -> folded value (as a String: hashed in one go, unlike a byte array) -> rules.
    private let exact: [(key: String, rules: [String: [Int32]])]
    /// Short prefixes and suffixes, checked one by one (rules have few).
    private let affixes: [(key: String, value: [UInt8], suffix: Bool, rules: [Int32])]

    /// How many rules have a gate, and how many are always checked.
    public let gateCounts: (gated: Int, always: Int)

    public init(_ rules: [SigmaRule]) {
        self.rules = rules
        var always: [Int32] = []
        var literalIDs: [[UInt8]: Int] = [:]
        var literalRules: [[Int32]] = []
        var exact: [String: [String: [Int32]]] = [:]
        var exactOrder: [String] = []
        var affixes: [(key: String, value: [UInt8], suffix: Bool, rules: [Int32])] = []
        for (i, rule) in rules.enumerated() {
            let id = Int32(i)
            guard let gate = rule.condition.gate(rule.selectionList) else {
                always.append(id)
                continue
            }
            for l in gate.literals {
                let n = literalIDs[l] ?? { literalRules.append([]); literalIDs[l] = literalRules.count - 1; return literalRules.count - 1 }()
                literalRules[n].append(id)
            }
            for pair in gate.exact {
                switch pair.kind {
                case .exact:
                    if exact[pair.key] == nil { exactOrder.append(pair.key) }
                    exact[pair.key, default: [:]][String(decoding: pair.value, as: UTF8.self), default: []].append(id)
                case .prefix, .suffix:
                    affixes.append((pair.key, pair.value, pair.kind == .suffix, [id]))
                }
            }
        }
        self.always = always
        self.literalRules = literalRules
        var byID = [[UInt8]](repeating: [], count: literalRules.count)
        for (bytes, n) in literalIDs { byID[n] = bytes }
        literals = LiteralHits(byID)
        self.exact = exactOrder.compactMap { name in exact[name].map { (name, $0) } }
        self.affixes = affixes
        gateCounts = (rules.count - always.count, always.count)
    }

    /// Calls `body` with each rule that matches the event, in rule order: the rules that pass
    /// their gate, matched in full. `scratch` is reused between calls to spare allocations.
    public func forEachMatch(text: String, event: Event, scratch: inout [Int32], _ body: (SigmaRule) -> Void) {
        candidates(text: text, event: event, into: &scratch)
        for i in scratch where rules[Int(i)].matches(event) { body(rules[Int(i)]) }
    }

    /// The rules that pass their gate, in rule order. `text` must contain every field value of the
    /// event as it appears in the source (the raw line, or all values of a Windows event).
    public func candidates(text: String, event: Event, into out: inout [Int32]) {
        out.removeAll(keepingCapacity: true)
        out += always
        if !literalRules.isEmpty {
            var t = text
            t.withUTF8 { buffer in literals.forEachHit(in: buffer) { out += literalRules[$0] } }
        }
        for (key, table) in exact {
            guard let value = event.value(lowercased: key) else { continue }
            if let hit = table[Self.folded(value)] { out += hit }
        }
        for a in affixes {
            guard var value = event.value(lowercased: a.key) else { continue }
            let hit = value.withUTF8 { v in
                guard v.count >= a.value.count else { return false }
                let from = a.suffix ? v.count - a.value.count : 0
                return a.value.indices.allSatisfy { Glob.fold(v[from + $0]) == a.value[$0] }
            }
            if hit { out += a.rules }
        }
        if out.count > 1 {
            out.sort()
            var kept = 1
            for i in 1..<out.count where out[i] != out[kept - 1] {
                out[kept] = out[i]
                kept += 1
            }
            out.removeLast(out.count - kept)
        }
    }
}

extension RuleIndex {
    /// `value` with ASCII letters lowercased, as matching folds; unchanged (no copy) when it has none.
    static func folded(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return value }
        return String(decoding: value.utf8.map(Glob.fold), as: UTF8.self)
    }
}

/// What every match of a rule (or part of one) has: one of `literals` in its text, or one of the
/// `exact` field values, prefixes or suffixes (lowercased field name, ASCII-folded value).
struct Gate {
    var literals: Set<[UInt8]> = []
    var exact: Set<Pair> = []

    struct Pair: Hashable {
        enum Kind: Hashable { case exact, prefix, suffix }
        var key: String
        var value: [UInt8]
        var kind: Kind = .exact
    }

    /// What a gate may be made of. The rule index wants literals long enough to be selective and
    /// field values; the log scanner, which looks at raw lines before any field is split, wants
    /// literals only.
    struct Policy {
        var minimumLiteral: Int
        var fieldValues: Bool

        /// Literals shorter than three bytes occur in most texts: they make no gate in the index.
        static let index = Policy(minimumLiteral: 3, fieldValues: true)
        static let rawText = Policy(minimumLiteral: 1, fieldValues: false)
    }

    /// Either part holds: both gates' alternatives.
    func union(_ other: Gate) -> Gate { Gate(literals: literals.union(other.literals), exact: exact.union(other.exact)) }

    /// Fewer alternatives with longer literals let fewer events through.
    var cost: Int { literals.count + exact.count + literals.reduce(0) { $0 + max(0, 8 - $1.count) } }

    /// Under OR every child needs a gate, and any of theirs lets an event through.
    static func union(_ gates: [Gate?]) -> Gate? {
        var out = Gate()
        for g in gates {
            guard let g else { return nil }
            out = out.union(g)
        }
        return out
    }

    /// Under AND any child's gate will do: the most selective.
    static func best(_ gates: [Gate?]) -> Gate? { gates.compactMap { $0 }.min { $0.cost < $1.cost } }

    static func literals(_ set: Set<String>?, _ policy: Policy) -> Gate? {
        guard let set, !set.isEmpty, set.allSatisfy({ $0.utf8.count >= policy.minimumLiteral }) else { return nil }
        return Gate(literals: Set(set.map { Array($0.utf8).map(Glob.fold) }))
    }
}

extension Condition {
    func gate(_ selections: [Selection], _ policy: Policy = .index) -> Gate? {
        switch self {
        case .index(let i): return selections[i].gate(policy)
        case .and(let children): return Gate.best(children.map { $0.gate(selections, policy) })
        case .or(let children): return Gate.union(children.map { $0.gate(selections, policy) })
        case .ref, .not: return nil
        }
    }

    typealias Policy = Gate.Policy
}

extension Selection {
    func gate(_ policy: Gate.Policy) -> Gate? {
        switch self {
        case .fields(let tests): return Gate.best(tests.map { $0.gate(policy) })
        case .anyOf(let list): return Gate.union(list.map { $0.gate(policy) })
        case .keywords(let patterns, let all):
            let gates = patterns.map { Gate.literals($0.requiredLiterals, policy) }
            return all ? Gate.best(gates) : Gate.union(gates)
        }
    }
}

extension FieldTest {
    func gate(_ policy: Gate.Policy) -> Gate? {
        let gates = patterns.map { p in key.flatMap { policy.fieldValues ? p.gate($0, policy) : nil } ?? Gate.literals(p.requiredLiterals, policy) }
        return requireAll ? Gate.best(gates) : Gate.union(gates)
    }
}

extension Pattern {
    /// An exact value is its own gate whatever its length; anything else needs its literals.
    func gate(_ key: String, _ policy: Gate.Policy) -> Gate? {
        switch self {
        case .glob(let g):
            if g.tokens.isEmpty { return Gate(exact: [.init(key: key, value: [])]) }
            if g.tokens.count == 1, case .literal(let l) = g.tokens[0] { return Gate(exact: [.init(key: key, value: l.map(Glob.fold))]) }
            if let literals = Gate.literals(requiredLiterals, policy) { return literals }
            // Too short for a literal, but a prefix or suffix of one field is still a gate.
            if g.tokens.count == 2, case .literal(let l) = g.tokens[0], g.tokens[1] == .star {
                return Gate(exact: [.init(key: key, value: l.map(Glob.fold), kind: .prefix)])
            }
            if g.tokens.count == 2, g.tokens[0] == .star, case .literal(let l) = g.tokens[1] {
                return Gate(exact: [.init(key: key, value: l.map(Glob.fold), kind: .suffix)])
            }
            return nil
        case .any(let list):
            return Gate.union(list.map { $0.gate(key, policy) })
        default:
            return Gate.literals(requiredLiterals, policy)
        }
    }
}

/// Which of many literals occur in a text, in one pass: each literal is listed under its rarest
/// two-byte pair (ASCII-folded), so each position of the text costs one bit test, and only
/// positions holding some literal's rare pair are compared.
struct LiteralHits: Sendable {
    /// One bit per two-byte pair that anchors some literal: 8 KiB that stay in cache.
    private let anchors: [UInt64]
    private let heads: [Int32]
    private let literals: [[UInt8]]
    /// Where each literal's anchor pair sits in it.
    private let offsets: [Int]
    private let next: [Int32]

    init(_ literals: [[UInt8]]) {
        var heads = [Int32](repeating: -1, count: literals.isEmpty ? 0 : 65536)
        var next = [Int32](repeating: -1, count: literals.count)
        var offsets = [Int](repeating: 0, count: literals.count)
        var anchors = [UInt64](repeating: 0, count: 1024)
        for (i, l) in literals.enumerated() where l.count >= 2 {
            let j = (0..<(l.count - 1)).min { ByteFrequency.of(l[$0]) + ByteFrequency.of(l[$0 + 1]) < ByteFrequency.of(l[$1]) + ByteFrequency.of(l[$1 + 1]) } ?? 0
            let slot = Int(l[j]) << 8 | Int(l[j + 1])
            offsets[i] = j
            next[i] = heads[slot]
            heads[slot] = Int32(i)
            anchors[slot >> 6] |= 1 << UInt64(slot & 63)
        }
        self.anchors = anchors
        self.heads = heads
        self.literals = literals
        self.offsets = offsets
        self.next = next
    }

    /// Calls `body` with the index of each literal found (possibly more than once).
    func forEachHit(in s: UnsafeBufferPointer<UInt8>, _ body: (Int) -> Void) {
        guard !heads.isEmpty, s.count >= 2 else { return }
        var seen: UInt64 = 0
        var previous = Glob.fold(s[0])
        for i in 0..<(s.count - 1) {
            let current = Glob.fold(s[i + 1])
            let slot = Int(previous) << 8 | Int(current)
            previous = current
            guard anchors[slot >> 6] & (1 << UInt64(slot & 63)) != 0 else { continue }
            var n = heads[slot]
            while n >= 0 {
                let l = literals[Int(n)]
                let start = i - offsets[Int(n)]
                if start >= 0, s.count - start >= l.count, Self.equal(s, start, l) {
                    // Report each of the first 64 literals once; the rest as often as found (harmless).
                    if n < 64 { if seen & (1 << UInt64(n)) == 0 { seen |= 1 << UInt64(n); body(Int(n)) } } else { body(Int(n)) }
                }
                n = next[Int(n)]
            }
        }
    }

    @inline(__always) private static func equal(_ s: UnsafeBufferPointer<UInt8>, _ from: Int, _ l: [UInt8]) -> Bool {
        for j in 0..<l.count where Glob.fold(s[from + j]) != l[j] { return false }
        return true
    }
}
