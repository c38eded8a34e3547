import HuntCore

/// A named search identifier of a rule's `detection`, compiled.
indirect enum Selection: Sendable {
    /// A map: every field test must hold.
    case fields([FieldTest])
    /// A list of maps: any may hold.
    case anyOf([Selection])
    /// Keyword search over the whole event text; `all` requires every keyword.
    case keywords([Pattern], all: Bool)

    func matches(_ event: Event) -> Bool {
        switch self {
        case .fields(let tests): return tests.allSatisfy { $0.matches(event) }
        case .anyOf(let list): return list.contains { $0.matches(event) }
        case .keywords(let patterns, let all):
            return all ? patterns.allSatisfy { $0.matches(event.raw) } : patterns.contains { $0.matches(event.raw) }
        }
    }

    /// Every regular expression of the selection.
    var regexes: [RegexBox] {
        switch self {
        case .fields(let tests): return tests.flatMap { $0.patterns.flatMap(\.regexes) }
        case .anyOf(let list): return list.flatMap(\.regexes)
        case .keywords(let patterns, _): return patterns.flatMap(\.regexes)
        }
    }

    /// Lowercased names of the fields this selection reads.
    var fieldNames: Set<String> {
        switch self {
        case .fields(let tests): return Set(tests.compactMap { $0.field?.lowercased() })
        case .anyOf(let list): return list.reduce(into: Set<String>()) { $0.formUnion($1.fieldNames) }
        case .keywords: return []
        }
    }
}

/// `field|modifiers: values`. A class: rules hold thousands of these and every event walks them;
/// one shared immutable instance is not copied field by field each time it is read from its array.
final class FieldTest: Sendable {
    /// nil for a keyword map (`'|all': [...]`), which searches the whole event text.
    let field: String?
    /// `field` lowercased once, for the event lookup.
    let key: String?
    let patterns: [Pattern]
    let requireAll: Bool

    init(field: String?, patterns: [Pattern], requireAll: Bool) {
        self.field = field
        self.key = field?.lowercased()
        self.patterns = patterns
        self.requireAll = requireAll
    }

    func matches(_ event: Event) -> Bool {
        let value = key.map { event.value(lowercased: $0) } ?? event.raw
        func test(_ p: Pattern) -> Bool {
            if case .fieldRef(let other, let contains, let starts, let ends, let cased) = p {
                guard let value, let ref = event.value(other) else { return false }
                let (a, b) = cased ? (value, ref) : (value.lowercased(), ref.lowercased())
                if contains { return a.contains(b) }
                if starts { return a.hasPrefix(b) }
                if ends { return a.hasSuffix(b) }
                return a == b
            }
            return p.matches(value)
        }
        return requireAll ? patterns.allSatisfy(test) : patterns.contains(where: test)
    }
}

/// The boolean structure of `condition`, with `1 of`/`all of` already expanded.
indirect enum Condition: Sendable {
    case ref(String)
    /// A search identifier resolved to its place in the rule's selection list (no hashing per event).
    case index(Int)
    case and([Condition])
    case or([Condition])
    case not(Condition)

    func resolved(_ order: [String]) -> Condition {
        switch self {
        case .ref(let name): return order.firstIndex(of: name).map { .index($0) } ?? self
        case .index: return self
        case .and(let c): return .and(c.map { $0.resolved(order) })
        case .or(let c): return .or(c.map { $0.resolved(order) })
        case .not(let c): return .not(c.resolved(order))
        }
    }

    /// Calls `body` with each selection the condition refers to and whether it sits under an odd
    /// number of `not`s.
    func forEachSelection(negated: Bool, _ body: (Int, Bool) -> Void) {
        switch self {
        case .ref: break
        case .index(let i): body(i, negated)
        case .and(let c), .or(let c): for x in c { x.forEachSelection(negated: negated, body) }
        case .not(let c): c.forEachSelection(negated: !negated, body)
        }
    }

    func evaluate(_ selections: [Selection], _ event: Event) -> Bool {
        switch self {
        case .ref: return false
        case .index(let i): return selections[i].matches(event)
        case .and(let c): return c.allSatisfy { $0.evaluate(selections, event) }
        case .or(let c): return c.contains { $0.evaluate(selections, event) }
        case .not(let c): return !c.evaluate(selections, event)
        }
    }
}
