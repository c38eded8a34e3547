import ArgumentParser
import Foundation
import Reports

/// Outputs are checked before the work begins: an hour's hunt must not end in "cannot write",
/// nor with Foundation's error text. Each problem names the option, the path and the reason.
enum OutputCheck {
    enum Kind { case file, folder }

    /// Exits 2 naming every output that cannot be written, one line each.
    static func require(_ outputs: [(option: String, path: String?, kind: Kind)]) throws {
        let problems = outputs.compactMap { o -> String? in
            guard let path = o.path, path != "-" else { return nil }
            return problem(path, o.kind).map { "cannot write \(o.option) \(path): \($0)" }
        }
        if !problems.isEmpty {
            for p in problems { Terminal.error(TerminalText.sanitize(p, limit: 600)) }
            throw ExitCode(2)
        }
    }

    /// Why `path` cannot be written as `kind`, or nil. A folder output is made with its missing
    /// parents, so the nearest existing ancestor must be a writable folder.
    static func problem(_ path: String, _ kind: Kind) -> String? {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isFolder: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isFolder) {
            switch (kind, isFolder.boolValue) {
            case (.file, true): return "it is a folder"
            case (.folder, false): return "it is a file, not a folder"
            default: return fm.isWritableFile(atPath: url.path) ? nil : "not writable"
            }
        }
        var parent = url.deletingLastPathComponent()
        if kind == .folder {
            while !fm.fileExists(atPath: parent.path), parent.path != "/", !parent.path.isEmpty {
                parent = parent.deletingLastPathComponent()
            }
        }
        guard fm.fileExists(atPath: parent.path, isDirectory: &isFolder) else { return "the folder \(parent.path) does not exist" }
        guard isFolder.boolValue else { return "\(parent.path) is a file, not a folder" }
        guard fm.isWritableFile(atPath: parent.path) else { return "the folder \(parent.path) is not writable" }
        return nil
    }
}
