import Foundation
import HuntCore

/// A value from BinXML: text, a typed substitution value, or a nested fragment.
indirect enum XValue {
    case null
    case string(String)
    /// UTF-16LE text still in the chunk (valid while the chunk is processed), trailing NULs cut.
    /// Rendered straight to JSON without building a String.
    case utf16(UnsafeRawBufferPointer)
    /// A JSON number or literal (`true`), rendered bare.
    case bare(String)
    case array([XValue])
    case nodes([XNode])

    var isEmpty: Bool {
        switch self {
        case .null: true
        case .string(let s): s.isEmpty
        case .utf16(let r): r.count < 2
        case .array(let a): a.isEmpty
        case .nodes(let n): n.isEmpty
        case .bare: false
        }
    }

    var text: String {
        switch self {
        case .null: ""
        case .string(let s), .bare(let s): s
        case .utf16(let r): BinXMLParser.utf16(r)
        case .array(let a): a.map(\.text).joined(separator: ",")
        case .nodes: ""
        }
    }
}

final class XElement {
    let name: String
    var attributes: [(String, XValue)] = []
    var children: [XNode] = []
    init(name: String) { self.name = name }
}

enum XNode {
    case element(XElement)
    case value(XValue)
}

/// A template definition's tree, with substitution slots.
indirect enum TNode {
    case element(TElement)
    case value(XValue)
    case substitution(index: Int, optional: Bool)
}

struct TElement {
    var name: String
    var attributes: [(String, [TNode])] = []
    var children: [TNode] = []
}

/// Parses BinXML inside one chunk. Names and template definitions are referenced by their
/// offset in the chunk and cached for the chunk's lifetime.
final class BinXMLParser {
    let chunk: UnsafeRawBufferPointer
    private var names: [Int: String] = [:]
    private var templates: [Int: [TNode]] = [:]
    /// Depth guard: nested BinXML values can recurse; hostile files must not overflow the stack.
    private var depth = 0

    init(chunk: UnsafeRawBufferPointer) { self.chunk = chunk }

    // MARK: - Records

    /// Parses a record's BinXML starting at `offset` and returns its nodes.
    func parseRecord(at offset: Int, end: Int) throws(EVTXError) -> [XNode] {
        var c = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<end]), at: offset)
        let tree = try parseContent(&c, inTemplate: false, values: nil)
        return tree
    }

    // MARK: - Token stream

    /// Reads tokens until EOF or an end-element, returning nodes. When `values` is given, the
    /// stream is instantiated directly (records and nested BinXML); otherwise substitutions stay
    /// as slots (template definitions), collected through `collectTemplate`.
    private func parseContent(_ c: inout ByteCursor, inTemplate: Bool, values: [XValue]?) throws(EVTXError) -> [XNode] {
        let t = try parseTemplateNodes(&c, inTemplate: inTemplate, stopAtEnd: false)
        return instantiate(t, values ?? [])
    }

    private func parseTemplateNodes(_ c: inout ByteCursor, inTemplate: Bool, stopAtEnd: Bool) throws(EVTXError) -> [TNode] {
        depth += 1
        defer { depth -= 1 }
        guard depth < 64 else { throw .invalid("BinXML nested too deep", offset: c.position) }
        var out: [TNode] = []
        while c.position < c.bytes.count {
            let tokenOffset = c.position
            let token = try c.u8("BinXML token")
            switch token {
            case 0x00:
                return out
            case 0x0F:
                _ = try c.slice(3, "fragment header")
            case 0x01, 0x41:
                out.append(.element(try parseElement(&c, token: token, inTemplate: inTemplate)))
            case 0x04:
                if stopAtEnd { return out }
                throw .invalidToken(token, offset: tokenOffset)
            case 0x05, 0x45:
                out.append(.value(try parseValueText(&c)))
            case 0x07, 0x47:
                let n = Int(try c.u16("CDATA length"))
                out.append(.value(.string(try c.utf16(n, "CDATA"))))
            case 0x08, 0x48:
                let v = try c.u16("character reference")
                out.append(.value(.string(String(UnicodeScalar(v).map(Character.init) ?? " "))))
            case 0x09, 0x49:
                let name = try readName(&c)
                out.append(.value(.string(Self.entity(name))))
            case 0x0A:
                _ = try readName(&c)
            case 0x0B:
                let n = Int(try c.u16("PI data length"))
                _ = try c.utf16(n, "PI data")
            case 0x0C:
                let nodes = try parseTemplateInstance(&c)
                out += nodes.map { n -> TNode in
                    switch n {
                    case .element(let e): return .value(.nodes([.element(e)]))
                    case .value(let v): return .value(v)
                    }
                }
            case 0x0D, 0x0E:
                let index = Int(try c.u16("substitution index"))
                _ = try c.u8("substitution type")
                out.append(.substitution(index: index, optional: token == 0x0E))
            default:
                throw .invalidToken(token, offset: tokenOffset)
            }
        }
        return out
    }

    private func parseElement(_ c: inout ByteCursor, token: UInt8, inTemplate: Bool) throws(EVTXError) -> TElement {
        if inTemplate { _ = try c.u16("dependency id") }
        _ = try c.u32("element data size")
        var element = TElement(name: try readName(&c))
        if token == 0x41 {
            _ = try c.u32("attribute list size")
            var more = true
            while more {
                let at = c.position
                let t = try c.u8("attribute token")
                guard t == 0x06 || t == 0x46 else { throw .invalidToken(t, offset: at) }
                more = t == 0x46
                let name = try readName(&c)
                var pieces: [TNode] = []
                var pieceMore = true
                while pieceMore {
                    let vt = c.position
                    let v = try c.u8("attribute value token")
                    pieceMore = v & 0x40 != 0 && v != 0x46
                    switch v & ~0x40 {
                    case 0x05: pieces.append(.value(try parseValueText(&c)))
                    case 0x08: pieces.append(.value(.string(String(UnicodeScalar(try c.u16("character reference")).map(Character.init) ?? " "))))
                    case 0x09: pieces.append(.value(.string(Self.entity(try readName(&c)))))
                    case 0x0D, 0x0E:
                        let index = Int(try c.u16("substitution index"))
                        _ = try c.u8("substitution type")
                        pieces.append(.substitution(index: index, optional: v == 0x0E))
                        pieceMore = false
                    default: throw .invalidToken(v, offset: vt)
                    }
                    if pieceMore {
                        // Another value piece follows only if the next token is a value, not an attribute.
                        let next = c.position < c.bytes.count ? c.bytes[c.position] : 0
                        if ![0x05, 0x45, 0x08, 0x48, 0x09, 0x49, 0x0D, 0x0E].contains(next) { pieceMore = false }
                    }
                }
                element.attributes.append((name, pieces))
            }
        }
        let closeAt = c.position
        let close = try c.u8("element close token")
        switch close {
        case 0x02:
            element.children = try parseTemplateNodes(&c, inTemplate: inTemplate, stopAtEnd: true)
        case 0x03:
            break
        default:
            throw .invalidToken(close, offset: closeAt)
        }
        return element
    }

    private func parseValueText(_ c: inout ByteCursor) throws(EVTXError) -> XValue {
        _ = try c.u8("value type")
        let n = Int(try c.u16("value length"))
        // Template text is parsed once per chunk and reused: decode it now, once.
        return .string(try c.utf16(n, "value text"))
    }

    private func readName(_ c: inout ByteCursor) throws(EVTXError) -> String {
        let offset = Int(try c.u32("name offset"))
        if offset == c.position {
            var n = c
            let name = try Self.name(&n)
            c.position = n.position
            names[offset] = name
            return name
        }
        if let cached = names[offset] { return cached }
        var n = ByteCursor(chunk, at: offset)
        let name = try Self.name(&n)
        names[offset] = name
        return name
    }

    private static func name(_ c: inout ByteCursor) throws(EVTXError) -> String {
        _ = try c.u32("name next offset")
        _ = try c.u16("name hash")
        let n = Int(try c.u16("name length"))
        let s = try c.utf16(n, "name")
        _ = try c.u16("name terminator")
        return s
    }

    static func entity(_ name: String) -> String {
        switch name {
        case "lt": "<"
        case "gt": ">"
        case "amp": "&"
        case "quot": "\""
        case "apos": "'"
        default: "&\(name);"
        }
    }

    // MARK: - Templates

    private func parseTemplateInstance(_ c: inout ByteCursor) throws(EVTXError) -> [XNode] {
        _ = try c.u8("template instance unknown byte")
        _ = try c.u32("template id")
        let definitionOffset = Int(try c.u32("template definition offset"))
        let template: [TNode]
        if definitionOffset == c.position {
            _ = try c.u32("template next offset")
            _ = try c.slice(16, "template GUID")
            let size = Int(try c.u32("template data size"))
            let start = c.position
            var d = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<min(chunk.count, start + size)]), at: start)
            template = try parseTemplateNodes(&d, inTemplate: true, stopAtEnd: false)
            templates[definitionOffset] = template
            c.position = start + size
        } else if let cached = templates[definitionOffset] {
            template = cached
        } else {
            var d = ByteCursor(chunk, at: definitionOffset)
            _ = try d.u32("template next offset")
            _ = try d.slice(16, "template GUID")
            let size = Int(try d.u32("template data size"))
            var body = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<min(chunk.count, d.position + size)]), at: d.position)
            template = try parseTemplateNodes(&body, inTemplate: true, stopAtEnd: false)
            templates[definitionOffset] = template
        }
        let count = Int(try c.u32("substitution count"))
        guard count <= 4096 else { throw .invalid("implausible substitution count \(count)", offset: c.position) }
        var descriptors: [(size: Int, type: UInt8)] = []
        descriptors.reserveCapacity(count)
        for _ in 0..<count {
            let size = Int(try c.u16("value size"))
            let type = try c.u8("value type")
            _ = try c.u8("value padding")
            descriptors.append((size, type))
        }
        var values: [XValue] = []
        values.reserveCapacity(count)
        for d in descriptors {
            let raw = try c.slice(d.size, "substitution value")
            values.append(try decodeValue(raw, type: d.type))
        }
        return instantiate(template, values)
    }

    private func instantiate(_ nodes: [TNode], _ values: [XValue]) -> [XNode] {
        var out: [XNode] = []
        for n in nodes {
            switch n {
            case .value(let v):
                if case .nodes(let inner) = v { out += inner } else { out.append(.value(v)) }
            case .substitution(let index, let optional):
                let v = index < values.count ? values[index] : .null
                if case .nodes(let inner) = v { out += inner; continue }
                // An optional substitution with no value leaves its element empty (rendered null).
                if optional && v.isEmpty { continue }
                out.append(.value(v))
            case .element(let t):
                let e = XElement(name: t.name)
                for (name, pieces) in t.attributes {
                    var parts: [XValue] = []
                    var omit = false
                    for p in pieces {
                        switch p {
                        case .value(let v): parts.append(v)
                        case .substitution(let index, let optional):
                            let v = index < values.count ? values[index] : .null
                            if optional && v.isEmpty { omit = pieces.count == 1; continue }
                            parts.append(v)
                        case .element: break
                        }
                    }
                    if omit { continue }
                    if parts.count == 1 { e.attributes.append((name, parts[0])) }
                    else { e.attributes.append((name, .string(parts.map(\.text).joined()))) }
                }
                e.children = instantiate(t.children, values)
                out.append(.element(e))
            }
        }
        return out
    }

    // MARK: - Values

    private func decodeValue(_ raw: UnsafeRawBufferPointer, type: UInt8) throws(EVTXError) -> XValue {
        if type & 0x80 != 0 { return try decodeArray(raw, type: type & 0x7F) }
        func int<T: FixedWidthInteger>(_: T.Type) -> T? {
            raw.count >= MemoryLayout<T>.size ? T(littleEndian: raw.loadUnaligned(as: T.self)) : nil
        }
        switch type {
        case 0x00: return .null
        case 0x01:
            var n = raw.count / 2
            while n > 0, raw.loadUnaligned(fromByteOffset: (n - 1) * 2, as: UInt16.self) == 0 { n -= 1 }
            return .utf16(UnsafeRawBufferPointer(rebasing: raw[0..<n * 2]))
        case 0x02: return .string(String(decoding: raw.prefix { $0 != 0 }.map { $0 }, as: UTF8.self))
        case 0x03: return int(Int8.self).map { .bare(String($0)) } ?? .null
        case 0x04: return int(UInt8.self).map { .bare(String($0)) } ?? .null
        case 0x05: return int(Int16.self).map { .bare(String($0)) } ?? .null
        case 0x06: return int(UInt16.self).map { .bare(String($0)) } ?? .null
        case 0x07: return int(Int32.self).map { .bare(String($0)) } ?? .null
        case 0x08: return int(UInt32.self).map { .bare(String($0)) } ?? .null
        case 0x09: return int(Int64.self).map { .bare(String($0)) } ?? .null
        case 0x0A: return int(UInt64.self).map { .bare(String($0)) } ?? .null
        case 0x0B: return int(UInt32.self).map { .bare(Self.number(Double(Float(bitPattern: $0)))) } ?? .null
        case 0x0C: return int(UInt64.self).map { .bare(Self.number(Double(bitPattern: $0))) } ?? .null
        case 0x0D: return int(UInt32.self).map { .bare($0 != 0 ? "true" : "false") } ?? .null
        case 0x0E: return .string(Self.hexString(raw))
        case 0x0F: return raw.count >= 16 ? .string(Self.guid(raw)) : .null
        case 0x10:
            if raw.count == 8, let v = int(UInt64.self) { return .string("0x" + String(v, radix: 16).leftPadded(16)) }
            return int(UInt32.self).map { .string("0x" + String($0, radix: 16).leftPadded(8)) } ?? .null
        case 0x11: return int(UInt64.self).map { .string(Self.filetime($0)) } ?? .null
        case 0x12: return raw.count >= 16 ? .string(Self.systemtime(raw)) : .null
        case 0x13: return .string(Self.sid(raw))
        case 0x14: return int(UInt32.self).map { .string("0x" + String($0, radix: 16)) } ?? .null
        case 0x15: return int(UInt64.self).map { .string("0x" + String($0, radix: 16)) } ?? .null
        case 0x21:
            guard raw.count > 0, let base = raw.baseAddress else { return .null }
            // Nested BinXML lives inside the chunk: parse it at its chunk offset so names resolve.
            let offset = chunk.baseAddress.map { base - UnsafeRawPointer($0) } ?? 0
            var c = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<(offset + raw.count)]), at: offset)
            return .nodes(try parseContent(&c, inTemplate: false, values: nil))
        default:
            return .string(Self.hexString(raw))
        }
    }

    private func decodeArray(_ raw: UnsafeRawBufferPointer, type: UInt8) throws(EVTXError) -> XValue {
        if type == 0x01 {
            var items: [XValue] = []
            var units: [UInt16] = []
            for i in stride(from: 0, to: raw.count - 1, by: 2) {
                let u = raw.loadUnaligned(fromByteOffset: i, as: UInt16.self).littleEndian
                if u == 0 { items.append(.string(String(decoding: units, as: UTF16.self))); units = [] } else { units.append(u) }
            }
            if !units.isEmpty { items.append(.string(String(decoding: units, as: UTF16.self))) }
            return .array(items)
        }
        let size: Int
        switch type {
        case 0x03, 0x04: size = 1
        case 0x05, 0x06: size = 2
        case 0x07, 0x08, 0x0B, 0x0D, 0x14: size = 4
        case 0x09, 0x0A, 0x0C, 0x11, 0x15: size = 8
        case 0x0F, 0x12: size = 16
        default: return .string(Self.hexString(raw))
        }
        var items: [XValue] = []
        var i = 0
        while i + size <= raw.count {
            items.append(try decodeValue(UnsafeRawBufferPointer(rebasing: raw[i..<i + size]), type: type))
            i += size
        }
        return .array(items)
    }

    /// UTF-16LE bytes as a String, trailing NULs cut unless `trimNUL` is false.
    static func utf16(_ raw: UnsafeRawBufferPointer, trimNUL: Bool = true) -> String {
        var n = raw.count / 2
        guard n > 0, let base = raw.baseAddress else { return "" }
        // Values sit at even offsets in practice; read them in place then, copy otherwise.
        if Int(bitPattern: base) % 2 == 0 {
            let units = base.assumingMemoryBound(to: UInt16.self)
            while trimNUL, n > 0, units[n - 1] == 0 { n -= 1 }
            return String(decoding: UnsafeBufferPointer(start: units, count: n), as: UTF16.self)
        }
        var units: [UInt16] = []
        units.reserveCapacity(n)
        for i in 0..<n { units.append(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian) }
        while trimNUL, units.last == 0 { units.removeLast() }
        return String(decoding: units, as: UTF16.self)
    }

    /// Upper-case hex of every byte (binary values).
    static func hexString(_ raw: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count * 2)
        for b in raw { hex(UInt64(b), 2, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    private static let upperHex = Array("0123456789ABCDEF".utf8)

    /// Appends `value` as `digits` upper-case hex digits.
    private static func hex(_ value: UInt64, _ digits: Int, into out: inout [UInt8]) {
        for i in stride(from: digits - 1, through: 0, by: -1) { out.append(upperHex[Int((value >> (UInt64(i) * 4)) & 0xF)]) }
    }

    /// Appends `value` in decimal, zero-padded to `width`.
    private static func decimal(_ value: Int, _ width: Int, into out: inout [UInt8]) {
        var digits: [UInt8] = []
        var v = value
        repeat { digits.append(UInt8(48 + v % 10)); v /= 10 } while v > 0
        for _ in digits.count..<max(width, digits.count) { out.append(48) }
        out.append(contentsOf: digits.reversed())
    }

    static func number(_ d: Double) -> String {
        if d.isNaN || d.isInfinite { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    static func guid(_ r: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        hex(UInt64(r.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian), 8, into: &out)
        out.append(UInt8(ascii: "-"))
        hex(UInt64(r.loadUnaligned(fromByteOffset: 4, as: UInt16.self).littleEndian), 4, into: &out)
        out.append(UInt8(ascii: "-"))
        hex(UInt64(r.loadUnaligned(fromByteOffset: 6, as: UInt16.self).littleEndian), 4, into: &out)
        out.append(UInt8(ascii: "-"))
        for i in 8..<10 { hex(UInt64(r[i]), 2, into: &out) }
        out.append(UInt8(ascii: "-"))
        for i in 10..<16 { hex(UInt64(r[i]), 2, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// FILETIME as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds, as the evtx crate prints).
    static func filetime(_ ft: UInt64) -> String {
        // FILETIME is unsigned 100 ns ticks since 1601: a hostile value near 2^64 must not overflow.
        let epoch: UInt64 = 116_444_736_000_000_000
        let secs: Int64, micros: Int64
        if ft >= epoch {
            secs = Int64((ft - epoch) / 10_000_000)
            micros = Int64((ft - epoch) % 10_000_000 / 10)
        } else {
            let ticks = -Int64(epoch - ft)
            secs = (ticks - 9_999_999) / 10_000_000
            micros = (ticks - secs * 10_000_000) / 10
        }
        var out = civilBytes(secs)
        out.append(UInt8(ascii: "."))
        decimal(Int(micros), 6, into: &out)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    static func systemtime(_ r: UnsafeRawBufferPointer) -> String {
        func u(_ i: Int) -> Int { Int(r.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian) }
        var out: [UInt8] = []
        decimal(u(0), 4, into: &out); out.append(UInt8(ascii: "-"))
        decimal(u(1), 2, into: &out); out.append(UInt8(ascii: "-"))
        decimal(u(3), 2, into: &out); out.append(UInt8(ascii: "T"))
        decimal(u(4), 2, into: &out); out.append(UInt8(ascii: ":"))
        decimal(u(5), 2, into: &out); out.append(UInt8(ascii: ":"))
        decimal(u(6), 2, into: &out); out.append(UInt8(ascii: "."))
        decimal(u(7) * 1000, 6, into: &out); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    static func civilBytes(_ secs: Int64) -> [UInt8] {
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let sod = secs - days * 86_400
        let (y, m, d) = ISOTime.civil(Int(days))
        var out: [UInt8] = []
        out.reserveCapacity(32)
        decimal(Int(y), 4, into: &out); out.append(UInt8(ascii: "-"))
        decimal(Int(m), 2, into: &out); out.append(UInt8(ascii: "-"))
        decimal(Int(d), 2, into: &out); out.append(UInt8(ascii: "T"))
        decimal(Int(sod / 3600), 2, into: &out); out.append(UInt8(ascii: ":"))
        decimal(Int(sod / 60 % 60), 2, into: &out); out.append(UInt8(ascii: ":"))
        decimal(Int(sod % 60), 2, into: &out)
        return out
    }

    static func sid(_ r: UnsafeRawBufferPointer) -> String {
        guard r.count >= 8 else { return "" }
        let revision = r[0], count = Int(r[1])
        var authority: UInt64 = 0
        for i in 2..<8 { authority = authority << 8 | UInt64(r[i]) }
        var s = "S-\(revision)-\(authority)"
        for i in 0..<count where 8 + i * 4 + 4 <= r.count {
            s += "-\(r.loadUnaligned(fromByteOffset: 8 + i * 4, as: UInt32.self).littleEndian)"
        }
        return s
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
