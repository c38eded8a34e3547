public import HuntCore
public import Foundation

/// The `--json` report: `HostReport` encoded with ISO 8601 UTC dates and sorted keys, so two
/// runs over the same evidence differ only in `generatedAt` and `stats.seconds`.
public enum JSONReport {
    public static func encode(_ report: HostReport) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(ISOTime.string(date))
        }
        return try e.encode(report)
    }

    public static func decode(_ data: Data) throws -> HostReport {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let s = try decoder.singleValueContainer().decode(String.self)
            if let date = Timestamp.parse(s) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad date \(s)"))
        }
        return try d.decode(HostReport.self, from: data)
    }
}
