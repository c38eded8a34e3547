/// What kind of text log a file is, decided from its first bytes, never from its name.
public enum LogFormat: Sendable, Equatable {
    /// Exchange's comma-separated logs (HttpProxy, ECP, EWS, …): `#Fields:` header, sometimes
    /// preceded by a bare CSV header line. `logType` is the `#Log-type:` directive when present.
    case exchangeCSV(logType: String?)
    /// IIS W3C extended logs: space-separated, `#Fields:` header.
    case w3c
    /// Plain text lines (OABGenerator log): one `Message` field per line.
    case text

    /// How many leading bytes `sniff` wants to see.
    public static let sniffLength = 16 * 1024

    /// Decides the format from the start of a file. Returns nil for content that is not text
    /// (NUL bytes in the first lines), which the caller should not read as a log.
    public static func sniff<Bytes: Collection<UInt8>>(_ head: Bytes) -> LogFormat? {
        let bytes = Array(head.prefix(sniffLength))
        if bytes.isEmpty { return .text }
        let probe = bytes.prefix(4096)
        if probe.contains(0) { return nil }
        var logType: String?
        var sawExchange = false
        var sawFieldsCSV = false
        var sawFieldsW3C = false
        var sawIIS = false
        var firstLine: String?
        for (index, lineBytes) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if index > 12 { break }
            var line = String(decoding: lineBytes, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            if index == 0 {
                if line.hasPrefix("\u{FEFF}") { line.removeFirst() }
                firstLine = line
            }
            let lower = line.lowercased()
            if lower.hasPrefix("#software:") {
                if lower.contains("internet information services") { sawIIS = true }
                if lower.contains("exchange") { sawExchange = true }
            } else if lower.hasPrefix("#log-type:") {
                logType = line.dropFirst("#log-type:".count).trimmingSpaces()
            } else if lower.hasPrefix("#fields:") {
                let rest = lower.dropFirst("#fields:".count)
                if rest.contains(",") { sawFieldsCSV = true } else { sawFieldsW3C = true }
            }
        }
        if sawIIS || (sawFieldsW3C && !sawExchange) { return .w3c }
        if sawExchange || sawFieldsCSV { return .exchangeCSV(logType: logType) }
        if let first = firstLine?.lowercased(), Self.bareHeaderTimestampColumns.contains(where: { first.hasPrefix($0 + ",") }) {
            return .exchangeCSV(logType: logType)
        }
        return .text
    }

    /// Column names that start a bare CSV header line in Exchange logs, lowercased.
    static let bareHeaderTimestampColumns = ["datetime", "timestamp", "date-time", "date"]
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
