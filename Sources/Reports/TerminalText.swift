/// Makes evidence text safe to print: control characters (escape sequences that could rewrite
/// the terminal, carriage returns that hide text) become visible `\u{..}` escapes.
public enum TerminalText {
    public static func sanitize(_ s: String, limit: Int = 400) -> String {
        var out = ""
        out.reserveCapacity(min(s.utf8.count, limit))
        var n = 0
        for scalar in s.unicodeScalars {
            if n >= limit { out += "…"; break }
            let v = scalar.value
            if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) || v == 0x202E || v == 0x2066 || v == 0x2067 || v == 0x2068 || v == 0x202D {
                out += "\\u{\(String(v, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            n += 1
        }
        return out
    }
}
