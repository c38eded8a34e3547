/// How deeply a YAML text nests, estimated from its characters, before a parser sees it.
///
/// Yams (libyaml underneath) builds nodes by recursion, one stack frame per level: a 3 KB
/// indicator file of `{{{{…` overflowed the stack (found by fuzzing). Indicator feeds and rule
/// folders come from outside, so their YAML is refused past `limit` levels instead. The estimate
/// counts open flow collections (`[`, `{`, outside quotes and comments), a line's indentation and
/// the block sequence dashes that start it (`- - - x` nests three deep); it is never below the
/// real depth, and no rule or feed nests more than a few levels.
public enum YAMLNesting {
    public static let limit = 128

    public static func depth(_ text: String) -> Int {
        var deepest = 0
        var flow = 0
        var quote: UInt8 = 0
        var atLineStart = true
        var indent = 0
        var dashes = 0
        var comment = false
        for b in text.utf8 {
            if b == 0x0A {
                atLineStart = true; indent = 0; dashes = 0; comment = false
                if quote == 0x27 { quote = 0 }  // single-quoted scalars rarely span lines; be safe
                continue
            }
            if comment { continue }
            if atLineStart {
                if b == 0x20 { indent += 1; continue }
                if b == 0x2D { dashes += 1; continue }  // "-" then a space is a block sequence entry
                atLineStart = false
            }
            switch b {
            case 0x22, 0x27:
                if quote == 0 { quote = b } else if quote == b { quote = 0 }
            // (A `where` binds to the last pattern of a case only: hence a case per bracket.)
            case 0x23 where quote == 0:
                comment = true
            case 0x5B where quote == 0, 0x7B where quote == 0:
                flow += 1
            case 0x5D where quote == 0, 0x7D where quote == 0:
                flow = max(0, flow - 1)
            default:
                break
            }
            deepest = max(deepest, flow + dashes + indent / 2)
        }
        return max(deepest, flow)
    }
}
