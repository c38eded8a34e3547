import Foundation
import HuntCore

/// A value of a record, still in the chunk: decoded only when something renders or reads it.
/// BinXML's own type codes, plus two of ours for what parsing produced.
struct RawValue {
    var type: UInt8
    /// For a record's substitution values, decided once when parsed: `known`, and whether the
    /// value is null or empty (renderers and the shape key ask for every value of every record).
    var flags: UInt8 = 0
    /// Chunk offset of the bytes; the instance index for `instance`; the pool index for `pooled`.
    var start: Int32
    var count: Int32
    /// Where a substitution value sits in the record's values (-1 for template text and the like):
    /// how a replayed rendering finds it.
    var slot: Int32 = -1

    static let null = RawValue(type: 0, start: 0, count: 0)
    static let known: UInt8 = 1, nullFlag: UInt8 = 2, emptyFlag: UInt8 = 4
    /// A nested BinXML fragment (type 0x21), already parsed into an instance.
    static let instance: UInt8 = 0xF0
    /// Text made while parsing (template text, character and entity references): `EVTXCache.pool`.
    static let pooled: UInt8 = 0xF1
}

/// A template definition's tree (or a record's own content), with substitution slots. A
/// template's tree is shared by every record that instantiates it, in every chunk: it holds no
/// chunk offsets (names are `EVTXCache` names, text is pooled).
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
    /// The template's number in the `EVTXCache`; -1 for a record's or a fragment's own content.
    var template: Int = -1
    /// How many nodes rendering this instance visits, nested fragments expanded as often as
    /// they are used (`RenderWeight`).
    var weight: Int = 0
}

/// What rendering a tree costs. A substitution may be used many times in a template and its value
/// may be a fragment that instantiates a template of the same kind: the depth guard bounds
/// nesting, not this fan-out, which grows as uses to the power of depth. Every instance's weight
/// is known when it is parsed, so a record that would expand past `limit` is a located problem
/// before anything walks it.
struct RenderWeight {
    /// Nodes of the tree, each substitution counted once.
    var nodes = 0
    /// How often each substitution index is used, for a template's tree.
    var uses: [(index: Int, count: Int)] = []

    /// Far above any record Windows writes (a few hundred nodes, a script block of 32 KiB is
    /// 2,000 more), far below a hang: rendering stays within a few MiB per record.
    static let limit = 100_000
    /// A value counts as a node per this many bytes it holds.
    static let bytesPerNode = 16

    /// A template's tree: its nodes and how often each substitution is used.
    init(template: [TNode]) {
        var counts: [Int: Int] = [:]
        nodes = Self.count(template, use: { i in counts[i, default: 0] += 1 })
        uses = counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Nodes in `tree`, `use` called for each substitution (and its weight added by the caller),
    /// nested instances weighed by `instance`.
    static func count(_ tree: [TNode], instance: (Int) -> Int = { _ in 0 }, use: (Int) -> Void = { _ in }) -> Int {
        var n = 0
        for node in tree {
            n += 1
            switch node {
            case .element(let e):
                for a in e.attributes { n += count(a.pieces, instance: instance, use: use) }
                n += count(e.children, instance: instance, use: use)
            case .text: break
            case .substitution(let i, _): use(i)
            case .instance(let j): n += instance(j)
            }
            if n > limit { return n }
        }
        return n
    }
}

/// An element or attribute name, decoded once per worker, with its JSON key bytes ready.
struct Name {
    let text: String
    /// `"text"`, escaped.
    let json: [UInt8]
    let isData: Bool
    let isName: Bool
    /// `EventData`: only its own `Data` children are named by their `Name` (the crate's rule).
    let isEventData: Bool
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
/// in the chunk and resolved once per chunk (to the cache's); a record is a list of instances
/// whose values point into the chunk. Nothing per record is built as a tree: renderers walk the
/// shared templates and read the record's values where they lie.
struct BinXMLParser {
    let chunk: UnsafeRawBufferPointer
    let cache: EVTXCache
    /// What is being parsed: a record's own content, or a template definition, first for its
    /// structure alone (the key the cache knows it by), then, if the cache does not know it, for its tree.
    private enum Mode { case record, templateKey, templateTree }
    private var mode = Mode.record
    private var building: Bool { mode != .templateKey }
    private var key: [Int32] = []
    /// The current record's substitution values and instances (reset per record).
    private(set) var values: [RawValue] = []
    private(set) var instances: [Instance] = []
    /// Depth guard: nested BinXML values can recurse; hostile files must not overflow the stack.
    private var depth = 0

    init(chunk: UnsafeRawBufferPointer, cache: EVTXCache) {
        self.chunk = chunk
        self.cache = cache
        values.reserveCapacity(256)
        instances.reserveCapacity(16)
    }

    /// Adds to the structure of the template being parsed.
    @inline(__always) private mutating func note(_ x: Int) {
        if mode == .templateKey { key.append(Int32(truncatingIfNeeded: x)) }
    }

    // MARK: - Records

    /// Parses a record's BinXML starting at `offset`; returns the index of its root instance.
    mutating func parseRecord(at offset: Int, end: Int) throws(EVTXError) -> Int {
        values.removeAll(keepingCapacity: true)
        instances.removeAll(keepingCapacity: true)
        var c = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<end]), at: offset)
        let nodes = try parseTemplateNodes(&c, inTemplate: false, stopAtEnd: false)
        try appendContent(nodes, base: 0, offset: offset)
        return instances.count - 1
    }

    /// A record's or fragment's own content as an instance, weighed (`RenderWeight`).
    private mutating func appendContent(_ nodes: [TNode], base: Int, offset: Int) throws(EVTXError) {
        let weight = RenderWeight.count(nodes, instance: { instances[$0].weight })
        guard weight <= RenderWeight.limit else {
            throw .invalid("BinXML expands to more than \(RenderWeight.limit) nodes", offset: offset)
        }
        instances.append(Instance(nodes: nodes, base: base, count: 0, weight: weight))
    }

    /// The parsed record, for renderers: immutable, so reading it needs no exclusivity checks.
    var record: RecordView { RecordView(chunk: chunk, names: cache.names, pool: cache.pool, values: values, instances: instances) }

    // MARK: - Token stream

    private mutating func parseTemplateNodes(_ c: inout ByteCursor, inTemplate: Bool, stopAtEnd: Bool) throws(EVTXError) -> [TNode] {
        depth += 1
        defer { depth -= 1 }
        guard depth < 64 else { throw .invalid("BinXML nested too deep", offset: c.position) }
        var out: [TNode] = []
        while c.position < c.bytes.count {
            let tokenOffset = c.position
            let token = try c.u8("BinXML token")
            note(Int(token))
            switch token {
            case 0x00:
                return out
            case 0x0F:
                _ = try c.slice(3, "fragment header")
            case 0x01, 0x41:
                let e = try parseElement(&c, token: token, inTemplate: inTemplate)
                if let e { out.append(.element(e)) }
            case 0x04:
                if stopAtEnd { return out }
                throw .invalidToken(token, offset: tokenOffset)
            case 0x05, 0x45:
                let v = TNode.text(try parseValueText(&c))
                if building { out.append(v) }
            case 0x07, 0x47:
                let n = Int(try c.u16("CDATA length"))
                let at = c.position
                _ = try c.slice(n * 2, "CDATA")
                let v = TNode.text(text(at, n))
                if building { out.append(v) }
            case 0x08, 0x48:
                let v = TNode.text(try characterReference(&c))
                if building { out.append(v) }
            case 0x09, 0x49:
                let v = TNode.text(try entityReference(&c))
                if building { out.append(v) }
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
                note(index)
                if building { out.append(.substitution(index: index, optional: token == 0x0E)) }
            default:
                throw .invalidToken(token, offset: tokenOffset)
            }
        }
        return out
    }

    private mutating func pooled(_ s: String) -> RawValue {
        let id = cache.pooled(s)
        note(id)
        return RawValue(type: RawValue.pooled, start: Int32(id), count: 0)
    }

    /// Text at a chunk offset: left there in a record, pooled in a template (which outlives the
    /// chunk); a template's key holds the text itself (no lookup while reading the structure).
    private mutating func text(_ at: Int, _ units: Int) -> RawValue {
        let raw = RawValue(type: 0x01, start: Int32(at), count: Int32(units * 2))
        switch mode {
        case .record:
            return raw
        case .templateKey:
            note(units)
            for i in stride(from: 0, to: units, by: 2) {
                let pair = i + 1 < units ? chunk.loadUnaligned(fromByteOffset: at + i * 2, as: UInt32.self)
                                         : UInt32(chunk.loadUnaligned(fromByteOffset: at + i * 2, as: UInt16.self))
                note(Int(Int32(bitPattern: pair)))
            }
            return raw
        case .templateTree:
            let id = cache.text(UnsafeRawBufferPointer(rebasing: chunk[at..<at + units * 2]))
            return RawValue(type: RawValue.pooled, start: Int32(id), count: 0)
        }
    }

    private mutating func characterReference(_ c: inout ByteCursor) throws(EVTXError) -> RawValue {
        pooled(String(UnicodeScalar(try c.u16("character reference")).map(Character.init) ?? " "))
    }

    private mutating func entityReference(_ c: inout ByteCursor) throws(EVTXError) -> RawValue {
        // The name is read (and possibly added to the cache) before the table is looked at:
        // `cache.names[try readName(&c)]` would read the table as it was before a new name.
        let id = try readName(&c)
        return pooled(Self.entity(cache.names[id].text))
    }

    /// The element, or nil when only the template's key is wanted.
    private mutating func parseElement(_ c: inout ByteCursor, token: UInt8, inTemplate: Bool) throws(EVTXError) -> TElement? {
        if inTemplate { _ = try c.u16("dependency id") }
        _ = try c.u32("element data size")
        let name = try readName(&c)
        let element = building ? TElement(name: name) : nil
        if token == 0x41 {
            _ = try c.u32("attribute list size")
            var more = true
            while more {
                let at = c.position
                let t = try c.u8("attribute token")
                guard t == 0x06 || t == 0x46 else { throw .invalidToken(t, offset: at) }
                note(Int(t))
                more = t == 0x46
                let name = try readName(&c)
                var pieces: [TNode] = []
                var pieceMore = true
                while pieceMore {
                    let vt = c.position
                    let v = try c.u8("attribute value token")
                    note(Int(v))
                    pieceMore = v & 0x40 != 0 && v != 0x46
                    switch v & ~0x40 {
                    case 0x05: let t = TNode.text(try parseValueText(&c)); if building { pieces.append(t) }
                    case 0x08: let t = TNode.text(try characterReference(&c)); if building { pieces.append(t) }
                    case 0x09: let t = TNode.text(try entityReference(&c)); if building { pieces.append(t) }
                    case 0x0D, 0x0E:
                        let index = Int(try c.u16("substitution index"))
                        _ = try c.u8("substitution type")
                        note(index)
                        if building { pieces.append(.substitution(index: index, optional: v == 0x0E)) }
                        pieceMore = false
                    default: throw .invalidToken(v, offset: vt)
                    }
                    if pieceMore {
                        // Another value piece follows only if the next token is a value, not an attribute.
                        let next = c.position < c.bytes.count ? c.bytes[c.position] : 0
                        if ![0x05, 0x45, 0x08, 0x48, 0x09, 0x49, 0x0D, 0x0E].contains(next) { pieceMore = false }
                    }
                }
                element?.attributes.append((name, pieces))
            }
        }
        let closeAt = c.position
        let close = try c.u8("element close token")
        note(Int(close))
        switch close {
        case 0x02:
            let children = try parseTemplateNodes(&c, inTemplate: inTemplate, stopAtEnd: true)
            element?.children = children
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
        return text(at, n)
    }

    /// The cache's index of the name at the offset the cursor reads; resolved once per chunk.
    private mutating func readName(_ c: inout ByteCursor) throws(EVTXError) -> Int {
        let offset = Int(try c.u32("name offset"))
        // A name defined inline is skipped over, at its first use and when met again at its place.
        let inline = offset == c.position
        let id: Int
        if let cached = cache.nameAt[offset] {
            id = cached
            if inline { _ = try Self.nameBytes(&c) }
        } else if inline {
            id = cache.name(try Self.nameBytes(&c))
        } else {
            var n = ByteCursor(chunk, at: offset)
            id = cache.name(try Self.nameBytes(&n))
        }
        cache.nameAt[offset] = id
        note(id)
        return id
    }

    /// A name's UTF-16 bytes.
    private static func nameBytes(_ c: inout ByteCursor) throws(EVTXError) -> UnsafeRawBufferPointer {
        _ = try c.u32("name next offset")
        _ = try c.u16("name hash")
        let n = Int(try c.u16("name length"))
        let bytes = try c.slice(n * 2, "name")
        _ = try c.u16("name terminator")
        return bytes
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

    /// The cache's number of the template defined at `definitionOffset`. A definition is parsed
    /// once per chunk; one the cache already knows by its structure keeps the known tree, so
    /// renderings recorded in earlier chunks still apply.
    private mutating func template(at definitionOffset: Int, _ c: inout ByteCursor) throws(EVTXError) -> Int {
        // Defined inline: the instance's bytes continue after the definition.
        let inline = definitionOffset == c.position
        if let known = cache.templateAt[definitionOffset], !inline { return known }
        var d = inline ? c : ByteCursor(chunk, at: definitionOffset)
        _ = try d.u32("template next offset")
        _ = try d.slice(16, "template GUID")
        let size = Int(try d.u32("template data size"))
        let start = d.position
        if inline { c.position = start + size }
        if let known = cache.templateAt[definitionOffset] { return known }
        let bytes = UnsafeRawBufferPointer(rebasing: chunk[0..<min(chunk.count, start + size)])
        // First its structure alone; the tree is built only for a structure the cache has not seen.
        var body = ByteCursor(bytes, at: start)
        key.removeAll(keepingCapacity: true)
        mode = .templateKey
        defer { mode = .record }
        _ = try parseTemplateNodes(&body, inTemplate: true, stopAtEnd: false)
        let id = try cache.template(ArrayKey(words: key)) { () throws(EVTXError) in
            mode = .templateTree
            var again = ByteCursor(bytes, at: start)
            return try parseTemplateNodes(&again, inTemplate: true, stopAtEnd: false)
        }
        cache.templateAt[definitionOffset] = id
        return id
    }

    /// Reads a template instance: the template (parsed once per chunk) and its values, which stay
    /// where they are in the chunk. Returns the instance's index.
    private mutating func parseTemplateInstance(_ c: inout ByteCursor) throws(EVTXError) -> Int {
        _ = try c.u8("template instance unknown byte")
        _ = try c.u32("template id")
        let definitionOffset = Int(try c.u32("template definition offset"))
        let template = try template(at: definitionOffset, &c)
        let nodes = cache.templates[template]
        let count = Int(try c.u32("substitution count"))
        guard count <= 4096 else { throw .invalid("implausible substitution count \(count)", offset: c.position) }
        let descriptors = try c.slice(count * 4, "value descriptors")
        let base = values.count
        var at = c.position
        let end = c.bytes.count
        for k in 0..<count {
            let d = descriptors.loadUnaligned(fromByteOffset: k * 4, as: UInt32.self).littleEndian
            let size = Int(d & 0xFFFF)
            var type = UInt8(truncatingIfNeeded: d >> 16)
            // Our own markers are not BinXML types: a file that claims them gets its bytes dumped.
            if type == RawValue.instance || type == RawValue.pooled { type = 0xFF }
            guard size <= end - at else {
                throw .truncated(what: "substitution value", offset: at, need: size, have: max(0, end - at))
            }
            var v = RawValue(type: type, start: Int32(at), count: Int32(size), slot: Int32(base + k))
            if type == 0x01 {
                // Strings are often stored with their terminating NULs.
                var n = size / 2
                while n > 0, chunk.loadUnaligned(fromByteOffset: at + (n - 1) * 2, as: UInt16.self) == 0 { n -= 1 }
                v.count = Int32(n * 2)
            }
            values.append(v)
            at += size
        }
        c.position = at
        // Fragments once this instance's values are all in place: theirs follow them.
        for i in base..<base + count {
            if values[i].type == 0x21 { values[i] = try parseFragment(at: Int(values[i].start), count: Int(values[i].count)) }
            let v = values[i]
            let empty = v.decodesToEmpty(in: chunk) { v in instances[Int(v.start)].nodes.isEmpty }
            values[i].flags = RawValue.known | (v.decodesToNull ? RawValue.nullFlag : 0) | (empty ? RawValue.emptyFlag : 0)
        }
        // Each use of a substitution renders its value again: a fragment as all it holds, other
        // values by their size (so one big string used many times is bounded too).
        let shape = cache.weights[template]
        var weight = shape.nodes
        for (index, uses) in shape.uses where index < count {
            let v = values[base + index]
            weight += uses * (v.type == RawValue.instance ? instances[Int(v.start)].weight : Int(v.count) / RenderWeight.bytesPerNode)
            if weight > RenderWeight.limit { break }
        }
        guard weight <= RenderWeight.limit else {
            throw .invalid("template instance expands to more than \(RenderWeight.limit) nodes", offset: c.position)
        }
        instances.append(Instance(nodes: nodes, base: base, count: count, template: template, weight: weight))
        return instances.count - 1
    }

    /// A nested BinXML value: parsed at its chunk offset so names and templates resolve.
    private mutating func parseFragment(at offset: Int, count: Int) throws(EVTXError) -> RawValue {
        guard count > 0 else { return .null }
        var c = ByteCursor(UnsafeRawBufferPointer(rebasing: chunk[0..<(offset + count)]), at: offset)
        let nodes = try parseTemplateNodes(&c, inTemplate: false, stopAtEnd: false)
        try appendContent(nodes, base: values.count, offset: offset)
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
