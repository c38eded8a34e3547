/// `--json FILE` was a file option of `hunt` and `survey` while `--json` was a switch elsewhere;
/// now `--json` prints on standard output everywhere and `-o FILE` writes a file. Scripts written
/// for the old spelling keep working: its value is recognised and moved to `-o`, with a note.
enum LegacySpelling {
    static let commands: Set<String> = ["hunt", "survey"]
    static let note = "note: `--json FILE` is now `-o FILE` (`--json` alone prints on standard output); the old spelling still works for now\n"

    /// The arguments with the old spelling rewritten where it is certain: `--json=X`, `--json -`,
    /// and `--json X` where X names a JSON file by its extension. `rewritten` says whether any was.
    static func rewrite(_ arguments: [String]) -> (arguments: [String], rewritten: Bool) {
        guard let first = arguments.first, commands.contains(first) else { return (arguments, false) }
        var out: [String] = []
        var rewritten = false
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { out += arguments[i...]; break }
            if a.hasPrefix("--json=") {
                let value = String(a.dropFirst("--json=".count))
                out += value == "-" ? ["--json"] : ["-o", value]
                rewritten = true
            } else if a == "--json", i + 1 < arguments.count, namesJSONFile(arguments[i + 1]) {
                let value = arguments[i + 1]
                out += value == "-" ? ["--json"] : ["-o", value]
                rewritten = true
                i += 1
            } else {
                out.append(a)
            }
            i += 1
        }
        return (out, rewritten)
    }

    /// For `hunt`, whose only positional argument is the evidence: when the arguments do not parse
    /// as written, `--json X` read the old way (X a file) is tried before the error is shown.
    static func valueAsFile(_ arguments: [String]) -> [String]? {
        guard arguments.first == "hunt", let i = arguments.firstIndex(of: "--json"), i + 1 < arguments.count,
              !arguments[i + 1].hasPrefix("-") else { return nil }
        var out = arguments
        out.replaceSubrange(i...i, with: ["-o"])
        return out
    }

    private static func namesJSONFile(_ value: String) -> Bool {
        if value == "-" || value == "/dev/null" { return true }
        let lower = value.lowercased()
        return [".json", ".jsonl", ".ndjson"].contains { lower.hasSuffix($0) }
    }
}
