public import Foundation
public import HuntCore

/// A file written by appending, with a buffer, from any thread: hit streams. Write errors (a full
/// disk) are thrown to the caller.
public final class OutputFile: @unchecked Sendable {
    private let handle: FileHandle
    private var buffer = Data()
    private let lock = NSLock()
    private static let flushAt = 1 << 16

    /// Creates (or empties) the file at `url`.
    public init(_ url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = try FileHandle(forWritingTo: url)
    }

    public func append(_ data: Data) throws {
        lock.lock()
        defer { lock.unlock() }
        buffer.append(data)
        if buffer.count >= Self.flushAt { try flushLocked() }
    }

    public func flush() throws {
        lock.lock()
        defer { lock.unlock() }
        try flushLocked()
    }

    public func close() throws {
        try flush()
        try handle.close()
    }

    private func flushLocked() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// `--hits FILE.jsonl`: every hit, one JSON object per line, in the order they were found.
public final class HitsFile: HitStream {
    private let file: OutputFile
    private let encoder = JSONCoding.encoder(pretty: false)

    public init(_ url: URL) throws { file = try OutputFile(url) }

    public func hit(_ finding: Finding) throws {
        var line = try encoder.encode(HitLine(finding))
        line.append(0x0A)
        try file.append(line)
    }

    public func finish(_ report: HostReport) throws { try file.close() }

    /// A hit is one event or file: the aggregation fields say nothing about it.
    struct HitLine: Encodable {
        var rule: Finding.Rule
        var cves: [String]
        var attack: [String]
        var severity: Severity
        var role: VerdictRole
        var timestamp: Date?
        var source: String
        var logsource: LogSource
        var evidence: Finding.Evidence
        var fields: [String: String]
        var extracted: [String: String]
        var tpl: String?
        var stage: String?

        init(_ f: Finding) {
            rule = f.rule; cves = f.cves; attack = f.attack; severity = f.severity; role = f.role
            timestamp = f.timestamp; source = f.source; logsource = f.logsource; evidence = f.evidence; fields = f.fields
            extracted = f.extracted; tpl = f.tpl; stage = f.stage
        }
    }
}
