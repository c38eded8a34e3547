import Foundation
/// Quotes one CSV field. Values that a spreadsheet would run as a formula (starting with
/// `=`, `+`, `-`, `@`, tab or carriage return) get a leading apostrophe, as OWASP advises.
public enum CSVField {
    public static func escape(_ value: String) -> String {
        var v = value
        if let first = v.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            v = "'" + v
        }
        if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "'" }) || v != value {
            return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return v
    }

    public static func row(_ values: [String]) -> String {
        values.map(escape).joined(separator: ",") + "\r\n"
    }
}
