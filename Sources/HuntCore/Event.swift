public import Foundation

/// Where in the evidence something was read: a path relative to the evidence root, and the line
/// (1-based) and byte offset when the thing is a log line, or the record's offset and its
/// `EventRecordID` when it is a Windows event.
public struct EvidenceLocation: Codable, Sendable, Hashable {
    public var path: String
    public var line: Int?
    public var offset: UInt64?
    public var record: UInt64?

    public init(path: String, line: Int? = nil, offset: UInt64? = nil, record: UInt64? = nil) {
        self.path = path
        self.line = line
        self.offset = offset
        self.record = record
    }
}

/// One thing a reader saw: a log line, or a file in the evidence tree. Field names keep the
/// spelling of their source; lookup ignores case, because Exchange itself is inconsistent
/// (`ClientIpAddress` vs `ClientIPAddress`).
public struct Event: Sendable {
    public var source: LogSource
    public var timestamp: Date?
    public var location: EvidenceLocation
    /// The whole line or the file's text, for Sigma keyword searches and excerpts.
    public var raw: String
    public private(set) var names: [String] = []
    private var values: [String: String] = [:]

    public init(source: LogSource, timestamp: Date?, location: EvidenceLocation, raw: String) {
        self.source = source
        self.timestamp = timestamp
        self.location = location
        self.raw = raw
    }

    /// Room for `n` fields, when the caller knows how many are coming.
    public mutating func reserveCapacity(_ n: Int) {
        names.reserveCapacity(n)
        values.reserveCapacity(n)
    }

    /// Sets a field; an empty value counts as absent, as `-` does in W3C logs.
    public mutating func set(_ name: String, _ value: String) {
        let key = name.lowercased()
        if values[key] == nil { names.append(name) }
        values[key] = value
    }

    public func value(_ name: String) -> String? { values[name.lowercased()] }

    /// Lookup by an already lowercased name (rules lowercase their field names once).
    public func value(lowercased key: String) -> String? { values[key] }

    /// Non-empty fields in their original order and spelling.
    public var fields: [(name: String, value: String)] {
        names.compactMap { n in values[n.lowercased()].flatMap { $0.isEmpty ? nil : (n, $0) } }
    }
}
