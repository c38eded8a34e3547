// Lists what can trap in the modules that read attacker-controlled bytes: force unwraps, `try!`,
// `as!`, `fatalError`, `precondition`, `unsafelyUnwrapped`. Each must be in
// Scripts/traps-allowed.txt (file, the code as written, and why it cannot be reached from input),
// or the check fails naming it. Strings and comments are skipped.
// Usage: swift Scripts/check-traps.swift [root]
import Foundation

let root = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ".")
let modules = ["HuntCore", "Evidence", "ExchangeLogs", "Sigma", "YARA", "Indicators", "EVTX", "EventExports", "Hunt", "Survey",
               "ExchangeBuilds", "Timeline", "Reports", "Dashboard", "RuleUpdates", "exhunt"].map { "Sources/\($0)" } + ["Rules"]

/// The source with string literals and comments blanked out (lengths and lines kept).
func code(_ text: String) -> [UInt8] {
    var b = Array(text.utf8)
    var i = 0
    func blank(_ from: Int, _ to: Int) { for k in from..<min(to, b.count) where b[k] != 0x0A { b[k] = 0x20 } }
    func at(_ s: String) -> Bool { let u = Array(s.utf8); return i + u.count <= b.count && Array(b[i..<i + u.count]) == u }
    while i < b.count {
        if at("//") {
            var j = i; while j < b.count && b[j] != 0x0A { j += 1 }
            blank(i, j); i = j
        } else if at("/*") {
            var j = i + 2; while j + 1 < b.count && !(b[j] == 0x2A && b[j + 1] == 0x2F) { j += 1 }
            blank(i, j + 2); i = j + 2
        } else if at("\"\"\"") {
            var j = i + 3; while j + 2 < b.count && !(b[j] == 0x22 && b[j + 1] == 0x22 && b[j + 2] == 0x22) { j += 1 }
            blank(i, j + 3); i = j + 3
        } else if b[i] == 0x22 {
            // A string literal, to its closing quote on the same line; interpolations are blanked too.
            var j = i + 1
            while j < b.count && b[j] != 0x22 && b[j] != 0x0A { j += b[j] == 0x5C ? 2 : 1 }
            blank(i, j + 1); i = j + 1
        } else { i += 1 }
    }
    return b
}

func isWord(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F }

/// Whether a line of code (strings and comments blanked) can trap.
func traps(_ line: [UInt8]) -> Bool {
    let s = String(decoding: line, as: UTF8.self)
    for word in ["try!", "as!", "fatalError(", "precondition(", "preconditionFailure(", "unsafelyUnwrapped"] where s.contains(word) {
        return true
    }
    // A postfix `!`: after a name, `)`, `]` or `}`, and not the start of `!=`.
    for k in line.indices.dropFirst() where line[k] == 0x21 {
        let before = line[k - 1], after = k + 1 < line.count ? line[k + 1] : 0x20
        if (isWord(before) || before == 0x29 || before == 0x5D || before == 0x7D) && after != 0x3D { return true }
    }
    return false
}

// The allow-list: `path | code | reason` per line.
let allowFile = root.appendingPathComponent("Scripts/traps-allowed.txt")
let allowed: [(path: String, code: String)] = ((try? String(contentsOf: allowFile, encoding: .utf8)) ?? "")
    .split(separator: "\n").compactMap { line in
        let parts = line.split(separator: "|", maxSplits: 2).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 3, !line.hasPrefix("#") else { return nil }
        return (parts[0], parts[1])
    }

var found = 0
var used = Set<Int>()
for module in modules {
    let dir = root.appendingPathComponent(module)
    let files = (FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
        .filter { $0.pathExtension == "swift" }.sorted { $0.path < $1.path }
    for file in files {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
        let rel = String(file.path.dropFirst(root.standardizedFileURL.path.count + 1))
        let original = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (n, line) in code(text).split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where traps(Array(line)) {
            let source = n < original.count ? original[n].trimmingCharacters(in: .whitespaces) : ""
            if let a = allowed.firstIndex(where: { $0.path == rel && source.contains($0.code) }) { used.insert(a); continue }
            print("traps: \(rel):\(n + 1): \(source)")
            found += 1
        }
    }
}
for (i, a) in allowed.enumerated() where !used.contains(i) {
    print("traps: allow-list entry no longer needed: \(a.path) | \(a.code)")
    found += 1
}
if found > 0 {
    print("traps: \(found) place(s) that can trap on input; make them total, or justify them in Scripts/traps-allowed.txt")
    exit(1)
}
