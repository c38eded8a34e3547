import Foundation

/// Renders a record's nodes as JSON in the `evtx` crate's shape: an element with only text is
/// its value; attributes go under `#attributes`, text beside them under `#text`; `Data`
/// elements with a `Name` attribute become keys; repeated keys get `_1`, `_2` suffixes; empty
/// elements are `null`.
enum JSONRender {
    static func render(_ nodes: [XNode]) -> String {
        var out = "{"
        var first = true
        var keys: [String: Int] = [:]
        for case .element(let e) in nodes {
            if !first { out += "," }
            first = false
            out += quote(uniqueKey(e.name, &keys)) + ":" + element(e)
        }
        return out + "}"
    }

    private static func uniqueKey(_ key: String, _ keys: inout [String: Int]) -> String {
        if let n = keys[key] {
            keys[key] = n + 1
            return "\(key)_\(n)"
        }
        keys[key] = 1
        return key
    }

    static func element(_ e: XElement) -> String {
        let attributes = e.attributes.filter { !isNullValue($0.1) }
        let childElements = e.children.compactMap { n -> XElement? in if case .element(let c) = n { return c } else { return nil } }
        let texts = e.children.compactMap { n -> XValue? in if case .value(let v) = n { return v } else { return nil } }
        let text = textValue(texts)
        if childElements.isEmpty {
            if attributes.isEmpty { return text ?? "null" }
            var parts = ["\"#attributes\":" + attributeObject(attributes)]
            if let text { parts.append("\"#text\":" + text) }
            return "{" + parts.joined(separator: ",") + "}"
        }
        var parts: [String] = []
        if !attributes.isEmpty { parts.append("\"#attributes\":" + attributeObject(attributes)) }
        var keys: [String: Int] = [:]
        var unnamedData: [String] = []
        var dataSlot: Int?
        for c in childElements {
            if c.name == "Data" {
                if let nameAttr = c.attributes.first(where: { $0.0 == "Name" }) {
                    let value = textValue(c.children.compactMap { n -> XValue? in if case .value(let v) = n { return v } else { return nil } })
                    parts.append(quote(uniqueKey(nameAttr.1.text, &keys)) + ":" + (value ?? "null"))
                    continue
                }
                let values = c.children.compactMap { n -> XValue? in if case .value(let v) = n { return v } else { return nil } }
                if dataSlot == nil { dataSlot = parts.count; parts.append("") }
                // An array value stands for the element repeated once per item.
                if values.count == 1, case .array(let items) = values[0] {
                    unnamedData += items.map(json)
                    continue
                }
                // The evtx crate writes an empty unnamed Data as "", where other empty elements are null.
                unnamedData.append(textValue(values) ?? "\"\"")
                continue
            }
            parts.append(quote(uniqueKey(c.name, &keys)) + ":" + element(c))
        }
        if let dataSlot {
            let text = unnamedData.count == 1 ? unnamedData[0] : "[" + unnamedData.joined(separator: ",") + "]"
            parts[dataSlot] = "\"Data\":{\"#text\":" + text + "}"
        }
        if let text { parts.append("\"#text\":" + text) }
        return "{" + parts.joined(separator: ",") + "}"
    }

    private static func isNullValue(_ v: XValue) -> Bool {
        if case .null = v { return true }
        return false
    }

    /// The JSON of an element's text: one typed value as itself, several pieces joined as a string.
    static func textValue(_ values: [XValue]) -> String? {
        let present = values.filter { !isNullValue($0) }
        if present.isEmpty { return nil }
        if present.count == 1 { return json(present[0]) }
        return quote(present.map(\.text).joined())
    }

    static func json(_ v: XValue) -> String {
        switch v {
        case .null: return "null"
        case .string(let s): return quote(s)
        case .bare(let s): return s
        case .array(let items): return "[" + items.map(json).joined(separator: ",") + "]"
        case .nodes(let nodes): return render(nodes)
        }
    }

    private static func attributeObject(_ attributes: [(String, XValue)]) -> String {
        "{" + attributes.map { quote($0.0) + ":" + json($0.1) }.joined(separator: ",") + "}"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

