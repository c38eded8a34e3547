public import Foundation

/// Lines of a target file or standard input, read in chunks as the survey consumes them.
public struct TargetLines: Sequence, IteratorProtocol {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    /// Longer lines are cut: no target is that long, and a hostile file must not grow memory.
    private let maxLine = 4096

    public init(_ handle: FileHandle) { self.handle = handle }

    public mutating func next() -> String? {
        while true {
            if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[start..<Swift.min(nl, start + maxLine)]
                start = nl + 1
                return String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = buffer[start..<Swift.min(buffer.count, start + maxLine)]
                start = buffer.count
                return String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if start > 0 { buffer.removeSubrange(0..<start); start = 0 }
            if buffer.count > maxLine {
                // An endless line: keep its head, drop the rest until a newline comes.
                buffer.removeSubrange(maxLine..<buffer.count)
            }
            let chunk = handle.readData(ofLength: 64 * 1024)
            if chunk.isEmpty { eof = true } else { buffer += chunk }
        }
    }
}

/// Keys (`target port`) of hosts an earlier run already assessed, read from its JSON Lines output.
public enum ResumeState {
    public static func completed(in path: String) -> Set<String> {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        var done: Set<String> = []
        var lines = TargetLines(handle)
        while let line = lines.next() {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let target = obj["target"] as? String, let port = obj["port"] as? Int else { continue }
            // Hosts that failed are tried again.
            if obj["error"] == nil || obj["error"] is NSNull { done.insert("\(target) \(port)") }
        }
        return done
    }
}
