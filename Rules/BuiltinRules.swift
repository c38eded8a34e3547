public import Foundation

/// Locates the detection content that ships beside the binary: the top-level Rules/ folder,
/// copied by SwiftPM into a resource bundle next to the executable.
///
/// SwiftPM's own `Bundle.module` traps when the bundle is missing (a binary copied to a server
/// without it), so the bundle is looked for here, and its absence is an error with a message.
public enum BuiltinRules {
    public struct Missing: Error, CustomStringConvertible {
        public var searched: [String]
        public var description: String {
            "the built-in rules were not found (looked in \(searched.joined(separator: ", "))); "
                + "copy exhunt_BuiltinRules.resources beside the exhunt binary or set EXHUNT_RULES to a copy of Rules/"
        }
    }

    /// The folder holding `sigma/`, `iocs/`, `mappings/`, `yara/`, `known-good/` and `exchange/`.
    public static func directory() throws(Missing) -> URL {
        let candidates = Self.candidates()
        for c in candidates where FileManager.default.fileExists(atPath: c.appendingPathComponent("sigma").path) {
            return c
        }
        throw Missing(searched: candidates.map(\.path))
    }

    /// `EXHUNT_RULES` alone when it is set (an explicit choice is never silently replaced);
    /// otherwise the bundle beside the executable (Linux and Windows name it `.resources`, macOS
    /// `.bundle`), then the source tree this binary was built from.
    static func candidates() -> [URL] {
        if let env = ProcessInfo.processInfo.environment["EXHUNT_RULES"], !env.isEmpty {
            return [URL(fileURLWithPath: env, isDirectory: true)]
        }
        var out: [URL] = []
        var dirs = [Bundle.main.bundleURL]
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() { dirs.append(exe) }
        for d in dirs {
            out.append(d.appendingPathComponent("exhunt_BuiltinRules.resources", isDirectory: true))
            out.append(d.appendingPathComponent("exhunt_BuiltinRules.bundle", isDirectory: true))
            out.append(d.appendingPathComponent("exhunt_BuiltinRules.bundle/Contents/Resources", isDirectory: true))
        }
        out.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent())
        return out
    }
}
