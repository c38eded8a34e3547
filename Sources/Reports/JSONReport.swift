public import HuntCore
public import Foundation

/// The `--json` report: `HostReport` encoded with ISO 8601 UTC dates and sorted keys, so two
/// runs over the same evidence differ only in `generatedAt` and `stats.seconds`.
public enum JSONReport {
    public static func encode(_ report: HostReport) throws -> Data {
        try JSONCoding.encoder(pretty: true).encode(report)
    }

    public static func decode(_ data: Data) throws -> HostReport {
        try JSONCoding.decoder().decode(HostReport.self, from: data)
    }

    /// Writes the report to `url` so that a reader never sees half of it: a temporary file beside
    /// it, then a rename (the hunt rewrites its report as it goes).
    ///
    /// The seen client addresses (up to 200,000 on a scanned server) are written one per line as
    /// they are encoded, not through the encoder's tree of the whole report, which would hold
    /// them all several times over: the report's memory stays that of the rest of the report.
    public static func write(_ report: HostReport, to url: URL) throws {
        // A device or pipe (`-o /dev/null`, `/dev/stdout`) is written in place: renaming a
        // temporary file over it would replace the device with a file (as root, for everyone).
        let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType
        if let type, type != .typeRegular {
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try stream(report) { try handle.write(contentsOf: $0) }
            return
        }
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            let file = try OutputFile(temporary)
            try stream(report) { try file.append($0) }
            try file.close()
            try FileReplacement.replace(url, with: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// The report's bytes, in pieces, to `put` (standard output for `--json`): the seen client
    /// addresses one per line, each encoded alone, never the whole report's tree at once.
    public static func stream(_ report: HostReport, _ put: (Data) throws -> Void) throws {
        var rest = report
        rest.clientAddresses = []
        let text = try encode(rest)
        let marker = Data("\"clientAddresses\" : [".utf8)
        guard !report.clientAddresses.isEmpty, let at = text.range(of: marker),
              let close = text[at.upperBound...].firstIndex(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }),
              text[close] == UInt8(ascii: "]") else {
            try put(report.clientAddresses.isEmpty ? text : try encode(report))
            return
        }
        try put(text[..<at.upperBound])
        let encoder = JSONCoding.encoder(pretty: false)
        var buffer = Data()
        for (i, a) in report.clientAddresses.enumerated() {
            buffer.append(contentsOf: (i == 0 ? "\n    " : ",\n    ").utf8)
            buffer.append(try encoder.encode(a))
            if buffer.count >= 1 << 16 {
                try put(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        buffer.append(contentsOf: "\n  ".utf8)
        try put(buffer)
        try put(text[close...])
    }
}
