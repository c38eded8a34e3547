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
    public static func write(_ report: HostReport, to url: URL) throws {
        try encode(report).write(to: url, options: .atomic)
    }
}
