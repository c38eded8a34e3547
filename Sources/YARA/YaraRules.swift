public import Foundation
import CYara

/// A rule file that did not compile, located.
public struct YaraCompileError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var isWarning: Bool
    public var description: String { "\(file):\(line): \(isWarning ? "warning" : "error"): \(message)" }

    public init(file: String, line: Int, message: String, isWarning: Bool) {
        self.file = file
        self.line = line
        self.message = message
        self.isWarning = isWarning
    }
}

/// Compiled YARA rules. Immutable once compiled and safe to share: libyara allows many scanners
/// over one `YR_RULES`.
public final class YaraRules: @unchecked Sendable {
    let handle: UnsafeMutablePointer<YR_RULES>
    /// Source label of every namespace (one per rule file), for reporting where a match came from.
    public let sources: [String: String]
    public let ruleCount: Int

    /// The external variables third-party rule sets read (THOR/LOKI set them per file). Defined
    /// empty at compile time and set per scanned file.
    public static let externalNames = ["filename", "filepath", "extension", "filetype", "owner"]

    private init(handle: UnsafeMutablePointer<YR_RULES>, sources: [String: String], ruleCount: Int) {
        self.handle = handle
        self.sources = sources
        self.ruleCount = ruleCount
    }

    deinit { yr_rules_destroy(handle) }

    /// Compiles `files` (path and label), each in its own namespace. A file with errors is left
    /// out and reported with its line; every other file still compiles.
    public static func compile(_ files: [(url: URL, label: String)]) -> (rules: YaraRules?, errors: [YaraCompileError]) {
        var texts: [(label: String, text: String)] = []
        var errors: [YaraCompileError] = []
        for f in files {
            guard let data = try? Data(contentsOf: f.url) else {
                errors.append(YaraCompileError(file: f.label, line: 0, message: "cannot read file", isWarning: false))
                continue
            }
            texts.append((f.label, String(decoding: data, as: UTF8.self)))
        }
        let r = compile(texts: texts)
        return (r.rules, errors + r.errors)
    }

    /// Compiles rule texts, each labelled and in its own namespace (see `compile(_:)`).
    public static func compile(texts: [(label: String, text: String)]) -> (rules: YaraRules?, errors: [YaraCompileError]) {
        guard YaraLibrary.ready else {
            return (nil, [YaraCompileError(file: "libyara", line: 0, message: "yr_initialize failed", isWarning: false)])
        }
        var errors: [YaraCompileError] = []
        // libyara's compiler is unusable after an error, so compile optimistically and start over
        // without each file that fails; rule sets rarely have more than a few bad files.
        var excluded = Set<Int>()
        while true {
            let attempt = compileOnce(texts, excluding: excluded)
            switch attempt {
            case .success(let rules, let warnings):
                return (rules, errors + warnings)
            case .failure(let index, let fileErrors):
                errors += fileErrors
                if let index { excluded.insert(index) } else { return (nil, errors) }
            }
        }
    }

    private enum Attempt {
        case success(YaraRules, [YaraCompileError])
        case failure(Int?, [YaraCompileError])
    }

    private final class Diagnostics {
        var items: [YaraCompileError] = []
        var label = ""
    }

    private static func compileOnce(_ texts: [(label: String, text: String)], excluding: Set<Int>) -> Attempt {
        var compilerPointer: UnsafeMutablePointer<YR_COMPILER>?
        guard yr_compiler_create(&compilerPointer) == ERROR_SUCCESS, let compiler = compilerPointer else {
            return .failure(nil, [YaraCompileError(file: "libyara", line: 0, message: "cannot create compiler", isWarning: false)])
        }
        defer { yr_compiler_destroy(compiler) }
        let diagnostics = Diagnostics()
        let box = Unmanaged.passUnretained(diagnostics).toOpaque()
        yr_compiler_set_callback(compiler, { level, _, line, _, message, user in
            guard let user else { return }
            let d = Unmanaged<Diagnostics>.fromOpaque(user).takeUnretainedValue()
            d.items.append(YaraCompileError(file: d.label, line: Int(line), message: message.map { String(cString: $0) } ?? "",
                                            isWarning: level == YARA_ERROR_LEVEL_WARNING))
        }, box)
        for name in externalNames { _ = yr_compiler_define_string_variable(compiler, name, "") }
        var sources: [String: String] = [:]
        var count = 0
        for (i, t) in texts.enumerated() where !excluding.contains(i) {
            diagnostics.label = t.label
            let namespace = "ns\(i)"
            sources[namespace] = t.label
            let failures = yr_compiler_add_string(compiler, t.text, namespace)
            if failures > 0 {
                return .failure(i, diagnostics.items.filter { !$0.isWarning && $0.file == t.label })
            }
            count += 1
        }
        var rulesPointer: UnsafeMutablePointer<YR_RULES>?
        guard yr_compiler_get_rules(compiler, &rulesPointer) == ERROR_SUCCESS, let rules = rulesPointer else {
            return .failure(nil, [YaraCompileError(file: "libyara", line: 0, message: "cannot build rules", isWarning: false)])
        }
        let ruleCount = Int(exhunt_rules_count(rules))
        return .success(YaraRules(handle: rules, sources: sources, ruleCount: ruleCount), diagnostics.items.filter(\.isWarning))
    }
}

/// libyara's process-wide initialisation, done once.
enum YaraLibrary {
    static let ready: Bool = yr_initialize() == ERROR_SUCCESS
}
