/// Parses a Sigma `condition` string: `and`, `or`, `not`, parentheses, `1 of pattern*`,
/// `all of pattern*`, `1 of them`, `all of them`. Precedence: not > and > or.
struct ConditionParser {
    private var tokens: [String]
    private var pos = 0
    private let names: [String]

    init(_ text: String, selections: [String]) throws(SigmaError.Reason) {
        if text.contains("|") { throw .unsupported("aggregation after '|' in condition (deprecated Sigma v1 syntax)") }
        var out: [String] = []
        var cur = ""
        for ch in text {
            if ch == "(" || ch == ")" {
                if !cur.isEmpty { out.append(cur); cur = "" }
                out.append(String(ch))
            } else if ch == " " || ch == "\t" || ch == "\n" {
                if !cur.isEmpty { out.append(cur); cur = "" }
            } else {
                cur.append(ch)
            }
        }
        if !cur.isEmpty { out.append(cur) }
        tokens = out
        names = selections
    }

    mutating func parse() throws(SigmaError.Reason) -> Condition {
        let c = try parseOr()
        if pos < tokens.count { throw .invalid("unexpected '\(tokens[pos])' in condition") }
        return c
    }

    private mutating func parseOr() throws(SigmaError.Reason) -> Condition {
        var parts = [try parseAnd()]
        while peek()?.lowercased() == "or" { pos += 1; parts.append(try parseAnd()) }
        return parts.count == 1 ? parts[0] : .or(parts)
    }

    private mutating func parseAnd() throws(SigmaError.Reason) -> Condition {
        var parts = [try parseNot()]
        while peek()?.lowercased() == "and" { pos += 1; parts.append(try parseNot()) }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    private mutating func parseNot() throws(SigmaError.Reason) -> Condition {
        if peek()?.lowercased() == "not" { pos += 1; return .not(try parseNot()) }
        return try parseAtom()
    }

    private mutating func parseAtom() throws(SigmaError.Reason) -> Condition {
        guard let t = next() else { throw .invalid("condition ends early") }
        if t == "(" {
            let c = try parseOr()
            guard next() == ")" else { throw .invalid("missing ')' in condition") }
            return c
        }
        let lower = t.lowercased()
        if lower == "1" || lower == "all" || lower == "any" {
            guard next()?.lowercased() == "of", let target = next() else { throw .invalid("expected 'of' after '\(t)'") }
            let matched: [String]
            if target.lowercased() == "them" {
                matched = names.filter { !$0.hasPrefix("_") }
            } else {
                let g = Glob(sigma: target, cased: true)
                matched = names.filter { g.matches($0) }
            }
            if matched.isEmpty { throw .invalid("'\(t) of \(target)' matches no search identifier") }
            let refs = matched.map { Condition.ref($0) }
            return lower == "all" ? .and(refs) : .or(refs)
        }
        guard names.contains(t) else { throw .invalid("condition names unknown search identifier '\(t)'") }
        return .ref(t)
    }

    private func peek() -> String? { pos < tokens.count ? tokens[pos] : nil }
    private mutating func next() -> String? {
        defer { pos += 1 }
        return peek()
    }
}
