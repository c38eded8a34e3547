import Foundation

/// Renders a record's nodes as JSON in the `evtx` crate's shape: an element with only text is
/// its value; attributes go under `#attributes`, text beside them under `#text`; `Data`
/// elements with a `Name` attribute become keys; repeated keys get `_1`, `_2` suffixes; empty
/// elements are `null`. Writes UTF-8 bytes straight into one buffer (this runs per record).
enum JSONRender {
    static func render(_ nodes: [XNode]) -> String {
        var w = JSONWriter()
        w.object(nodes)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func quote(_ s: String) -> String {
        var w = JSONWriter()
        w.string(s)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

struct JSONWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(2048) }

    @inline(__always) mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func object(_ nodes: [XNode]) {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        var keys: [(String, Int)] = []
        for case .element(let e) in nodes {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            key(e.name, &keys)
            element(e)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes `"key":`, suffixing `_N` for repeats. Objects have few keys: a list beats a hash.
    private mutating func key(_ k: String, _ keys: inout [(String, Int)]) {
        if let i = keys.firstIndex(where: { $0.0 == k }) {
            let n = keys[i].1
            keys[i].1 = n + 1
            string(k + "_\(n)")
        } else {
            keys.append((k, 1))
            string(k)
        }
        bytes.append(UInt8(ascii: ":"))
    }

    private static func isNull(_ v: XValue) -> Bool { if case .null = v { return true } else { return false } }

    mutating func element(_ e: XElement) {
        var hasChildElements = false
        var textCount = 0
        var onlyText: XValue?
        for c in e.children {
            switch c {
            case .element: hasChildElements = true
            case .value(let v):
                if !Self.isNull(v) { textCount += 1; onlyText = v }
            }
        }
        let attributeCount = e.attributes.reduce(0) { $0 + (Self.isNull($1.1) ? 0 : 1) }
        if !hasChildElements {
            if attributeCount == 0 {
                if textCount == 0 { raw("null") } else { text(e, textCount, onlyText) }
                return
            }
            bytes.append(UInt8(ascii: "{"))
            attributes(e)
            if textCount > 0 {
                raw(",\"#text\":")
                text(e, textCount, onlyText)
            }
            bytes.append(UInt8(ascii: "}"))
            return
        }
        bytes.append(UInt8(ascii: "{"))
        var first = true
        if attributeCount > 0 { attributes(e); first = false }
        var keys: [(String, Int)] = []
        var unnamed: [XValue?] = []
        var unnamedAt: Int?
        for case .element(let c) in e.children {
            if c.name == "Data" {
                let values = c.children.compactMap { n -> XValue? in
                    if case .value(let v) = n, !Self.isNull(v) { return v } else { return nil }
                }
                if let name = c.attributes.first(where: { $0.0 == "Name" }) {
                    if !first { bytes.append(UInt8(ascii: ",")) }
                    first = false
                    key(name.1.text, &keys)
                    if values.isEmpty { raw("null") } else { textValues(values) }
                    continue
                }
                if unnamedAt == nil {
                    if !first { bytes.append(UInt8(ascii: ",")) }
                    first = false
                    unnamedAt = bytes.count
                }
                // An array value stands for the element repeated once per item.
                if values.count == 1, case .array(let items) = values[0] { unnamed += items.map { Optional($0) }; continue }
                unnamed.append(values.isEmpty ? nil : (values.count == 1 ? values[0] : .string(values.map(\.text).joined())))
                continue
            }
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            key(c.name, &keys)
            element(c)
        }
        if let at = unnamedAt {
            var w = JSONWriter()
            w.raw("\"Data\":{\"#text\":")
            if unnamed.count != 1 { w.bytes.append(UInt8(ascii: "[")) }
            for (i, v) in unnamed.enumerated() {
                if i > 0 { w.bytes.append(UInt8(ascii: ",")) }
                // The evtx crate writes an empty unnamed Data as "", where other empty elements are null.
                if let v { w.value(v) } else { w.raw("\"\"") }
            }
            if unnamed.count != 1 { w.bytes.append(UInt8(ascii: "]")) }
            w.bytes.append(UInt8(ascii: "}"))
            bytes.insert(contentsOf: w.bytes, at: at)
        }
        if textCount > 0 {
            if !first { bytes.append(UInt8(ascii: ",")) }
            raw("\"#text\":")
            text(e, textCount, onlyText)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    private mutating func attributes(_ e: XElement) {
        raw("\"#attributes\":{")
        var first = true
        for (k, v) in e.attributes where !Self.isNull(v) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            string(k)
            bytes.append(UInt8(ascii: ":"))
            value(v)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// One typed value as itself; several text pieces joined as one string.
    private mutating func text(_ e: XElement, _ count: Int, _ only: XValue?) {
        if count == 1, let only { value(only); return }
        textValues(e.children.compactMap { n -> XValue? in if case .value(let v) = n, !Self.isNull(v) { return v } else { return nil } })
    }

    private mutating func textValues(_ values: [XValue]) {
        if values.count == 1 { value(values[0]) } else { string(values.map(\.text).joined()) }
    }

    mutating func value(_ v: XValue) {
        switch v {
        case .null: raw("null")
        case .string(let s): string(s)
        case .utf16(let r): utf16(r)
        case .bare(let s): bytes.append(contentsOf: s.utf8)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                value(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .nodes(let nodes): object(nodes)
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// UTF-16LE from the chunk to an escaped JSON string, in one pass.
    mutating func utf16(_ r: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        let n = r.count / 2
        var i = 0
        while i < n {
            let u = UInt32(r.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
            i += 1
            if u < 0x80 {
                escapeASCII(UInt8(u))
                continue
            }
            var scalar = u
            if (0xD800..<0xDC00).contains(u), i < n {
                let low = UInt32(r.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
                if (0xDC00..<0xE000).contains(low) {
                    scalar = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                    i += 1
                } else {
                    scalar = 0xFFFD
                }
            } else if (0xD800..<0xE000).contains(u) {
                scalar = 0xFFFD
            }
            if scalar < 0x800 {
                bytes.append(UInt8(0xC0 | (scalar >> 6)))
                bytes.append(UInt8(0x80 | (scalar & 0x3F)))
            } else if scalar < 0x10000 {
                bytes.append(UInt8(0xE0 | (scalar >> 12)))
                bytes.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                bytes.append(UInt8(0x80 | (scalar & 0x3F)))
            } else {
                bytes.append(UInt8(0xF0 | (scalar >> 18)))
                bytes.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
                bytes.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                bytes.append(UInt8(0x80 | (scalar & 0x3F)))
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    @inline(__always) private mutating func escapeASCII(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        case 0x08: raw("\\b")
        case 0x0C: raw("\\f")
        case 0..<0x20:
            raw("\\u00")
            bytes.append(Self.hex[Int(b >> 4)])
            bytes.append(Self.hex[Int(b & 0xF)])
        default: bytes.append(b)
        }
    }

    mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            for b in utf8 { if b < 0x80 { escapeASCII(b) } else { bytes.append(b) } }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
