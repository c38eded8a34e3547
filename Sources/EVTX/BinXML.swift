import Foundation
import HuntCore

/// A value of a record, still in the chunk: decoded only when something renders or reads it.
/// BinXML's own type codes, plus two of ours for what parsing produced.
struct RawValue {
    var type: UInt8
    /// Chunk offset of the bytes; the instance index for `instance`; the pool index for `pooled`.
    var start: Int32
    var count: Int32
    /// Where a substitution value sits in the record's values (-1 for template text and the like):
    /// how a replayed rendering finds it.
    var slot: Int32 = -1

    static let null = RawValue(type: 0, start: 0, count: 0)
    /// A nested BinXML fragment (type 0x21), already parsed into an instance.
    static let instance: UInt8 = 0xF0
    /// Text made while parsing (character and entity references).
    static let pooled: UInt8 = 0xF1
}

/// A template definition's tree (or a record's own content), with substitution slots. Parsed
/// once per chunk and shared by every record that instantiates it.
enum TNode {
    case element(TElement)
    case text(RawValue)
    case substitution(index: Int, optional: Bool)
    /// A template instance inside record content or a fragment: index into the record's instances.
    case instance(Int)
}

final class TElement {
    let name: Int
    var attributes: [(name: Int, pieces: [TNode])] = []
    var children: [TNode] = []
    init(name: Int) { self.name = name }
}

/// A template with its substitution values: `values[base..<base+count]` of the record.
struct Instance {
    let nodes: [TNode]
    let base: Int
    let count: Int
    /// The template's offset in the chunk; -1 for a record's or a fragment's own content.
    var template: Int = -1
}

/// An element or attribute name, decoded once per chunk, with its JSON key bytes ready.
struct Name {
    let text: String
    /// `"text"`, escaped.
    let json: [UInt8]
    let isData: Bool
    let isName: Bool
}

/// A parsed record: the chunk, its names, and the record's instances and values. Immutable, so
/// renderers read it without exclusivity checks; a class, so closures capture one reference.
final class RecordView {
    let chunk: UnsafeRawBufferPointer
    let names: [Name]
    let pool: [String]
    let values: [RawValue]
    let instances: [Instance]

    init(chunk: UnsafeRawBufferPointer, names: [Name], pool: [String], values: [RawValue], instances: [Instance]) {
        self.chunk = chunk
        self.names = names
        self.pool = pool
        self.values = values
        self.instances = instances
    }

    /// Substitution `index` of instance `k` (null when the record has fewer values).
    @inline(__always) func value(_ k: Int, _ index: Int) -> RawValue {
        let i = instances[k]
        return index < i.count ? values[i.base + index] : .null
    }
}

/// Parses BinXML inside one chunk. Names and template definitions are referenced by their offset
/// in the chunk and parsed once for the chunk's lifetime; a record is a list of instances whose
/// values point into the chunk. Nothing per record is built as a tree: renderers walk the shared
/// templates and read the record's values where they lie.
struct BinXMLParser {
    let chunk: UnsafeRawBufferPointer
    private(set) var names: [Name] = []
    private var nameIndex: [Int: Int] = [:]
    private var templates: [Int: [TNode]] = [:]
    private(set) var pool: [String] = []
    /// The current record's substitution values and instances (reset per record).
    private(set) var values: [RawValue] = []
    private(set) var instances: [Instance] = []
    /// Depth guard: nested BinXML values can recurse; hostile files must not overflow the stack.
    private var depth = 0

    init(chunk: UnsafeRawBufferPointer) {
        self.chunk = chunk
        values.reserveCapacity(256)
        instances.reserveCapacity(16)
    }

    // MARK: - Records

    /// Parses a record's BinXML starting at `offset`; returns the index of its root instance.
    mutating func parseRecord(at offset: Int, end: Int) throws(EVTXError) -> Int {
        values.removeAll(keepingCapacity: true)
        instances.removeAll(keepingCapacity: true)
        var c = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<end]), at: offset)
        let nodes = try parseTemplateNodes(&c, inTemplate: false, stopAtEnd: false)
        instances.append(Instance(nodes: nodes, base: 0, count: 0))
        return instances.count - 1
    }

    /// The parsed record, for renderers: immutable, so reading it needs no exclusivity checks.
    var record: RecordView { RecordView(chunk: chunk, names: names, pool: pool, values: values, instances: instances) }

    // MARK: - Token stream

    private mutating func parseTemplateNodes(_ c: inout ByteCursor, inTemplate: Bool, stopAtEnd: Bool) throws(EVTXError) -> [TNode] {
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
                out.append(.text(try parseValueText(&c)))
            case 0x07, 0x47:
                let n = Int(try c.u16("CDATA length"))
                let at = c.position
                _ = try c.slice(n * 2, "CDATA")
                out.append(.text(RawValue(type: 0x01, start: Int32(at), count: Int32(n * 2))))
            case 0x08, 0x48:
                out.append(.text(pooled(String(UnicodeScalar(try c.u16("character reference")).map(Character.init) ?? " "))))
            case 0x09, 0x49:
                out.append(.text(pooled(Self.entity(names[try readName(&c)].text))))
            case 0x0A:
                _ = try readName(&c)
            case 0x0B:
                let n = Int(try c.u16("PI data length"))
                _ = try c.slice(n * 2, "PI data")
            case 0x0C:
                // Template definitions are shared by every record of the chunk; an instance inside
                // one would carry values of its own, which Windows never writes.
                if inTemplate { throw .invalid("template instance inside a template definition", offset: tokenOffset) }
                out.append(.instance(try parseTemplateInstance(&c)))
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

    private mutating func pooled(_ s: String) -> RawValue {
        pool.append(s)
        return RawValue(type: RawValue.pooled, start: Int32(pool.count - 1), count: 0)
    }

    private mutating func parseElement(_ c: inout ByteCursor, token: UInt8, inTemplate: Bool) throws(EVTXError) -> TElement {
        if inTemplate { _ = try c.u16("dependency id") }
        _ = try c.u32("element data size")
        let element = TElement(name: try readName(&c))
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
                    case 0x05: pieces.append(.text(try parseValueText(&c)))
                    case 0x08: pieces.append(.text(pooled(String(UnicodeScalar(try c.u16("character reference")).map(Character.init) ?? " "))))
                    case 0x09: pieces.append(.text(pooled(Self.entity(names[try readName(&c)].text))))
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

    /// Template text stays in the chunk: a range, decoded when rendered.
    private mutating func parseValueText(_ c: inout ByteCursor) throws(EVTXError) -> RawValue {
        _ = try c.u8("value type")
        let n = Int(try c.u16("value length"))
        let at = c.position
        _ = try c.slice(n * 2, "value text")
        return RawValue(type: 0x01, start: Int32(at), count: Int32(n * 2))
    }

    /// The index of the name at the offset the cursor reads; names are decoded once per chunk.
    private mutating func readName(_ c: inout ByteCursor) throws(EVTXError) -> Int {
        let offset = Int(try c.u32("name offset"))
        if let cached = nameIndex[offset] {
            // A name defined inline is skipped over when met again at its own place.
            if offset == c.position { var n = c; _ = try Self.name(&n); c.position = n.position }
            return cached
        }
        let text: String
        if offset == c.position {
            var n = c
            text = try Self.name(&n)
            c.position = n.position
        } else {
            var n = ByteCursor(chunk, at: offset)
            text = try Self.name(&n)
        }
        var w = JSONWriter()
        w.string(text)
        names.append(Name(text: text, json: w.bytes, isData: text == "Data", isName: text == "Name"))
        nameIndex[offset] = names.count - 1
        return names.count - 1
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

    private mutating func template(at definitionOffset: Int, _ c: inout ByteCursor) throws(EVTXError) -> [TNode] {
        if definitionOffset == c.position {
            _ = try c.u32("template next offset")
            _ = try c.slice(16, "template GUID")
            let size = Int(try c.u32("template data size"))
            let start = c.position
            defer { c.position = start + size }
            if let cached = templates[definitionOffset] { return cached }
            var d = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<min(chunk.count, start + size)]), at: start)
            let t = try parseTemplateNodes(&d, inTemplate: true, stopAtEnd: false)
            templates[definitionOffset] = t
            return t
        }
        if let cached = templates[definitionOffset] { return cached }
        var d = ByteCursor(chunk, at: definitionOffset)
        _ = try d.u32("template next offset")
        _ = try d.slice(16, "template GUID")
        let size = Int(try d.u32("template data size"))
        var body = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<min(chunk.count, d.position + size)]), at: d.position)
        let t = try parseTemplateNodes(&body, inTemplate: true, stopAtEnd: false)
        templates[definitionOffset] = t
        return t
    }

    /// Reads a template instance: the template (parsed once per chunk) and its values, which stay
    /// where they are in the chunk. Returns the instance's index.
    private mutating func parseTemplateInstance(_ c: inout ByteCursor) throws(EVTXError) -> Int {
        _ = try c.u8("template instance unknown byte")
        _ = try c.u32("template id")
        let definitionOffset = Int(try c.u32("template definition offset"))
        let nodes = try template(at: definitionOffset, &c)
        let count = Int(try c.u32("substitution count"))
        guard count <= 4096 else { throw .invalid("implausible substitution count \(count)", offset: c.position) }
        try c.need(count * 4, "value descriptors")
        let base = values.count
        for _ in 0..<count {
            let size = try c.u16("value size")
            var type = try c.u8("value type")
            // Our own markers are not BinXML types: a file that claims them gets its bytes dumped.
            if type == RawValue.instance || type == RawValue.pooled { type = 0xFF }
            _ = try c.u8("value padding")
            values.append(RawValue(type: type, start: 0, count: Int32(size), slot: Int32(values.count)))
        }
        for i in base..<base + count {
            let at = c.position
            _ = try c.slice(Int(values[i].count), "substitution value")
            values[i].start = Int32(at)
            switch values[i].type {
            case 0x01:
                // Strings are often stored with their terminating NULs.
                var n = Int(values[i].count) / 2
                while n > 0, chunk.loadUnaligned(fromByteOffset: at + (n - 1) * 2, as: UInt16.self) == 0 { n -= 1 }
                values[i].count = Int32(n * 2)
            case 0x21:
                values[i] = try parseFragment(at: at, count: Int(values[i].count))
            default:
                break
            }
        }
        instances.append(Instance(nodes: nodes, base: base, count: count, template: definitionOffset))
        return instances.count - 1
    }

    /// A nested BinXML value: parsed at its chunk offset so names and templates resolve.
    private mutating func parseFragment(at offset: Int, count: Int) throws(EVTXError) -> RawValue {
        guard count > 0 else { return .null }
        var c = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<(offset + count)]), at: offset)
        let nodes = try parseTemplateNodes(&c, inTemplate: false, stopAtEnd: false)
        instances.append(Instance(nodes: nodes, base: values.count, count: 0))
        return RawValue(type: RawValue.instance, start: Int32(instances.count - 1), count: 0)
    }

    // MARK: - Values

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

    static func number(_ d: Double) -> String {
        if d.isNaN || d.isInfinite { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(format: "%.1f", d) }
        return "\(d)"
    }

}
