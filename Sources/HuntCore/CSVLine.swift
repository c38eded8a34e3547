/// Splits one CSV line into fields: commas separate, a field that starts with `"` runs to the
/// closing quote, and `""` inside it is a quote. For small files (indicator lists, copy logs);
/// the log scanner has its own byte-level splitter.
public enum CSVLine {
    public static func split(_ line: String) -> [String] {
        var out: [String] = []
        var cur = ""
        var quoted = false
        var chars = Array(line)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { cur.append("\""); chars.removeFirst() } else { quoted = false }
                } else {
                    cur.append(c)
                }
            } else if c == "\"" && cur.isEmpty {
                quoted = true
            } else if c == "," {
                out.append(cur)
                cur = ""
            } else {
                cur.append(c)
            }
        }
        out.append(cur)
        return out
    }
}
