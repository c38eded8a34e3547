import Foundation

/// Renders a record as JSON in the `evtx` crate's shape: an element with only text is its value;
/// attributes go under `#attributes`, text beside them under `#text`; `Data` elements with a
/// `Name` attribute become keys; repeated keys get `_1`, `_2` suffixes.
///
/// Empty values as the crate writes them (checked against it value type by value type): a value
/// that is null or empty (NullType, an empty or all-NUL string, empty binary, an empty array) is
/// no text at all, so an element with nothing else is `null` and an attribute with it is left out
/// (an element whose attributes are all left out is written as one without attributes); a `Data`
/// element, named or not, with no text is `""`; a `Name` attribute with an empty value does not
/// name its `Data`; unnamed `Data` beside named `Data` is left out.
/// Walks the chunk's shared templates with the record's values and writes UTF-8 bytes straight
/// into one buffer: nothing per record is built but the output (this runs per record).
enum JSONRender {
    static func render(_ p: RecordView, root: Int, to w: inout JSONWriter) {
        object(p, instance: root, to: &w)
    }

    static func quote(_ s: String) -> String {
        var w = JSONWriter()
        w.string(s)
        return w.string
    }

    /// The top-level elements of an instance as one object.
    static func object(_ p: RecordView, instance k: Int, to w: inout JSONWriter) {
        w.byte(UInt8(ascii: "{"))
        let frame = w.openKeys()
        var first = true
        p.forEachElement(ofInstance: k) { e, ek in
            if !first { w.byte(UInt8(ascii: ",")) }
            first = false
            w.key(frame) { $0.append(p.names[e.name].json) }
            element(p, e, ek, to: &w)
        }
        w.closeKeys(frame)
        w.byte(UInt8(ascii: "}"))
    }

    /// How many non-empty text children an element has, and the last of them.
    private static func texts(_ p: RecordView, _ e: TElement, _ k: Int) -> (elements: Bool, count: Int, only: RawValue) {
        if let v = p.onlyValue(of: e, k) { return (false, p.isEmpty(v) ? 0 : 1, v) }
        var elements = false
        var count = 0
        var only = RawValue.null
        p.forEachChild(e.children, k) { c in
            switch c {
            case .element: elements = true
            case .text(let v):
                if !p.isEmpty(v) { count += 1; only = v }
            }
        }
        return (elements, count, only)
    }

    /// `item`: one item of the element's array value, written in the array's place.
    /// `dedupe`: named `Data` that repeats a name is written once, at the first one's place, with
    /// the last one's value, as the crate does (a second pass, taken only when a name repeated).
    static func element(_ p: RecordView, _ e: TElement, _ k: Int, item: RawValue? = nil, dedupe: Bool = false, to w: inout JSONWriter) {
        let start = w.count
        var (hasChildElements, textCount, onlyText) = texts(p, e, k)
        if let item {
            textCount = p.isEmpty(item) ? 0 : 1
            onlyText = item
        }
        var attributeCount = 0
        for a in e.attributes {
            switch p.attribute(a.pieces, k) {
            case .omitted: break
            case .single(let v): if !p.isEmpty(v) { attributeCount += 1 }
            case .joined: attributeCount += 1
            }
        }
        if !hasChildElements {
            if attributeCount == 0 {
                if textCount == 0 { w.raw("null") } else { text(p, e, k, textCount, onlyText, to: &w) }
                return
            }
            w.byte(UInt8(ascii: "{"))
            attributes(p, e, k, to: &w)
            if textCount > 0 {
                w.raw(",\"#text\":")
                text(p, e, k, textCount, onlyText, to: &w)
            }
            w.byte(UInt8(ascii: "}"))
            return
        }
        w.byte(UInt8(ascii: "{"))
        var first = true
        if attributeCount > 0 { attributes(p, e, k, to: &w); first = false }
        let frame = w.openKeys()
        // Unnamed Data elements are gathered into one "Data": {"#text": [...]} at the first one's place.
        var unnamed: [UInt8] = []
        var unnamedCount = 0
        var unnamedAt: Int?
        var commaBeforeUnnamed = false
        // The crate leaves unnamed Data out of an element that has named Data.
        var named = false
        func addUnnamed(_ render: (inout JSONWriter) -> Void) {
            // Bytes moved after the fact cannot be replayed from positions.
            w.replayable = false
            let mark = w.count
            render(&w)
            if unnamedCount > 0 { unnamed.append(UInt8(ascii: ",")) }
            unnamed += w.array(from: mark)
            w.truncate(to: mark)
            unnamedCount += 1
        }
        // Second pass: each repeated name's last Data, by name.
        var lastData: [[UInt8]: (TElement, Int)] = [:]
        var writtenData = Set<[UInt8]>()
        var repeatedData = false
        if dedupe {
            // (A second pass happens only under EventData, where names count.)
            p.forEachChild(e.children, k) { child in
                guard case .element(let c, let ck) = child, p.names[c.name].isData, let name = dataName(p, c, ck) else { return }
                lastData[name] = (c, ck)
            }
        }
        // Data named by its Name, and unnamed Data gathered, only right under EventData: elsewhere
        // a Data element is an element like any other.
        let inEventData = p.names[e.name].isEventData
        p.forEachChild(e.children, k) { child in
            guard case .element(let c, let ck) = child else { return }
            if inEventData && p.names[c.name].isData {
                if let nameAttribute = nameAttribute(p, c, ck) {
                    // A key taken from a value decides which keys repeat: not a fixed shape.
                    if nameAttribute.pieces.contains(where: { if case .substitution = $0 { true } else { false } }) { w.replayable = false }
                    var source = (c, ck)
                    if dedupe, let name = dataName(p, c, ck) {
                        guard writtenData.insert(name).inserted else { return }
                        source = lastData[name] ?? source
                    }
                    if !first { w.byte(UInt8(ascii: ",")) }
                    first = false
                    named = true
                    let repeated = w.key(frame) { w in
                        w.quote()
                        p.writeAttribute(nameAttribute.pieces, ck, p.attribute(nameAttribute.pieces, ck), text: true, to: &w)
                        w.quote()
                    }
                    if repeated { repeatedData = true }
                    namedData(p, source.0, source.1, to: &w)
                    return
                }
                if unnamedAt == nil {
                    commaBeforeUnnamed = !first
                    if !first { w.byte(UInt8(ascii: ",")) }
                    first = false
                    unnamedAt = w.count
                }
                let (_, count, only) = texts(p, c, ck)
                // An array value stands for the element repeated once per item.
                if count == 1, only.isArray {
                    p.forEachItem(only) { item in addUnnamed { p.write(item, text: false, to: &$0) } }
                    return
                }
                if count == 0 { addUnnamed { $0.raw("\"\"") } } else { addUnnamed { text(p, c, ck, count, only, to: &$0) } }
                return
            }
            // An array value: the crate writes the element once per item (`P`, `P_1`, …).
            if let array = p.onlyValue(of: c, ck), array.isArray, !p.isEmpty(array) {
                w.replayable = false
                var items = 0
                p.forEachItem(array) { _ in items += 1 }
                // One item is not expanded: an empty one stays an empty string.
                if items == 1 {
                    if !first { w.byte(UInt8(ascii: ",")) }
                    first = false
                    w.key(frame) { $0.append(p.names[c.name].json) }
                    p.forEachItem(array) { item in
                        if p.isEmpty(item) { w.raw("\"\"") } else { element(p, c, ck, item: item, to: &w) }
                    }
                    return
                }
                p.forEachItem(array) { item in
                    if !first { w.byte(UInt8(ascii: ",")) }
                    first = false
                    w.key(frame) { $0.append(p.names[c.name].json) }
                    element(p, c, ck, item: item, to: &w)
                }
                return
            }
            if !first { w.byte(UInt8(ascii: ",")) }
            first = false
            w.key(frame) { $0.append(p.names[c.name].json) }
            element(p, c, ck, to: &w)
        }
        w.closeKeys(frame)
        if let at = unnamedAt, named {
            // Nothing goes in its place: the comma that set it apart goes too (the one before it,
            // or, when it came first, the one the next member wrote after it).
            w.remove(at: commaBeforeUnnamed ? at - 1 : at)
        } else if let at = unnamedAt {
            var wrapped = JSONWriter()
            wrapped.raw("\"Data\":{\"#text\":")
            if unnamedCount != 1 { wrapped.byte(UInt8(ascii: "[")) }
            wrapped.append(unnamed)
            if unnamedCount != 1 { wrapped.byte(UInt8(ascii: "]")) }
            wrapped.byte(UInt8(ascii: "}"))
            w.insert(wrapped.array(), at: at)
        }
        if textCount > 0 {
            if !first { w.byte(UInt8(ascii: ",")) }
            w.raw("\"#text\":")
            text(p, e, k, textCount, onlyText, to: &w)
        }
        w.byte(UInt8(ascii: "}"))
        if repeatedData && !dedupe {
            w.replayable = false
            w.truncate(to: start)
            element(p, e, k, item: item, dedupe: true, to: &w)
        }
    }

    /// A `Data` element's `Name` attribute, unless it is missing or empty.
    private static func nameAttribute(_ p: RecordView, _ c: TElement, _ ck: Int) -> (name: Int, pieces: [TNode])? {
        c.attributes.first { p.names[$0.name].isName && !p.isBlank($0.pieces, ck) }
    }

    /// The name a `Data` element's `Name` attribute gives it, escaped as a key is (for the second
    /// pass only: it allocates).
    private static func dataName(_ p: RecordView, _ c: TElement, _ ck: Int) -> [UInt8]? {
        guard let attribute = nameAttribute(p, c, ck) else { return nil }
        var w = JSONWriter(capacity: 64)
        p.writeAttribute(attribute.pieces, ck, p.attribute(attribute.pieces, ck), text: true, to: &w)
        return w.array()
    }

    /// A named `Data` element's value: its text, `""` when it has none.
    private static func namedData(_ p: RecordView, _ c: TElement, _ ck: Int, to w: inout JSONWriter) {
        let (_, count, only) = texts(p, c, ck)
        if count == 1, only.isArray {
            // The crate writes the element once per item under the same name, and a named Data
            // written again replaces the one before: the last item stays.
            w.replayable = false
            var last = RawValue.null
            p.forEachItem(only) { last = $0 }
            if p.isEmpty(last) { w.raw("\"\"") } else { p.write(last, text: false, to: &w) }
        } else if count == 0 {
            w.raw("\"\"")
        } else {
            text(p, c, ck, count, only, to: &w)
        }
    }

    private static func attributes(_ p: RecordView, _ e: TElement, _ k: Int, to w: inout JSONWriter) {
        w.raw("\"#attributes\":{")
        var first = true
        for a in e.attributes {
            let r = p.attribute(a.pieces, k)
            switch r {
            case .omitted: continue
            case .single(let v): if p.isEmpty(v) { continue }
            case .joined: break
            }
            if !first { w.byte(UInt8(ascii: ",")) }
            first = false
            w.append(p.names[a.name].json)
            w.byte(UInt8(ascii: ":"))
            p.writeAttribute(a.pieces, k, r, text: false, to: &w)
        }
        w.byte(UInt8(ascii: "}"))
    }

    /// One typed value as itself; several text pieces joined as one string.
    private static func text(_ p: RecordView, _ e: TElement, _ k: Int, _ count: Int, _ only: RawValue, to w: inout JSONWriter) {
        if count == 1 { p.write(only, text: false, to: &w); return }
        w.quote()
        p.forEachChild(e.children, k) { c in
            if case .text(let v) = c, !p.isEmpty(v) { p.write(v, text: true, to: &w) }
        }
        w.quote()
    }
}

/// UTF-8 output with JSON escaping (or none, for plain text), and the keys of the objects being
/// written, so repeated keys get their suffix without a set per object.
///
/// The bytes live in memory the writer owns (not an Array): the dump appends a few bytes millions
/// of times, and an Array checks uniqueness and capacity on every append. Non-copyable, so the
/// memory has exactly one owner.
struct JSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int
    /// False to write text as it is (values read for matching, not JSON).
    let escaping: Bool
    private var keys: [(start: Int, end: Int, seen: Int)] = []
    /// While recording a rendering for replay: where substitution values were written.
    var ops: [RenderProgram.Op]?
    /// Cleared when the rendering being recorded cannot be replayed.
    var replayable = true

    init(escaping: Bool = true, capacity: Int = 2048) {
        self.escaping = escaping
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    // MARK: - Bytes

    /// Makes room for `n` more bytes (growing geometrically).
    @inline(__always) mutating func reserve(_ n: Int) {
        if capacity - count < n { grow(n) }
    }

    private mutating func grow(_ n: Int) {
        let newCapacity = max(capacity * 2, count + n)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = newCapacity
    }

    @inline(__always) mutating func byte(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    @inline(__always) mutating func quote() { byte(UInt8(ascii: "\"")) }

    @inline(__always) mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).update(from: from, count: bytes.count)
        count += bytes.count
    }

    @inline(__always) mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    @inline(__always) mutating func raw(_ s: StaticString) {
        append(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Bytes from `fill`, which writes at most `max` of them in place and returns how many it wrote.
    @inline(__always) mutating func write(max: Int, _ fill: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(max)
        count += fill(base + count)
    }

    /// Drops everything from `offset` on.
    mutating func truncate(to offset: Int) { count = min(count, offset) }

    mutating func removeAll() { count = 0 }

    /// Takes out the byte at `offset`.
    mutating func remove(at offset: Int) {
        guard offset >= 0, offset < count else { return }
        memmove(base + offset, base + offset + 1, count - offset - 1)
        count -= 1
    }

    /// Moves the bytes from `offset` on to the end and puts `bytes` at `offset`.
    mutating func insert(_ bytes: [UInt8], at offset: Int) {
        reserve(bytes.count)
        memmove(base + offset + bytes.count, base + offset, count - offset)
        bytes.withUnsafeBufferPointer { b in if let from = b.baseAddress { (base + offset).update(from: from, count: b.count) } }
        count += bytes.count
    }

    /// The bytes written, or those from `offset` on.
    func withBytes<R>(from offset: Int = 0, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base + offset, count: count - offset))
    }

    func array(from offset: Int = 0) -> [UInt8] { withBytes(from: offset) { Array($0) } }

    var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }

    mutating func openKeys() -> Int { keys.count }

    mutating func closeKeys(_ frame: Int) { keys.removeSubrange(frame...) }

    /// Writes a quoted key with `write`, then `:`; a key already written in this object (since
    /// `frame`) gets `_1`, `_2`... before its closing quote.
    /// Returns whether the key had been written before.
    @discardableResult
    mutating func key(_ frame: Int, _ write: (inout JSONWriter) -> Void) -> Bool {
        let start = count
        write(&self)
        let end = count
        for i in frame..<keys.count {
            let k = keys[i]
            guard k.end - k.start == end - start, memcmp(base + k.start, base + start, end - start) == 0 else { continue }
            keys[i].seen += 1
            count -= 1
            byte(UInt8(ascii: "_"))
            decimal(Int64(k.seen))
            quote()
            byte(UInt8(ascii: ":"))
            return true
        }
        keys.append((start, end, 1))
        byte(UInt8(ascii: ":"))
        return false
    }

    mutating func decimal<T: BinaryInteger>(_ value: T) {
        write(max: 21) { ValueFormat.decimal(value, 0, to: $0) }
    }

    /// A quoted string.
    mutating func string(_ s: String) {
        quote()
        text(s)
        quote()
    }

    /// A string's characters, escaped if this writer escapes.
    mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            let escaping = escaping
            if !utf8.contains(where: { escaping && Self.escapable($0) }) { append(utf8); return }
            for b in utf8 { if needsEscape(b) { escapeASCII(b) } else { byte(b) } }
        }
    }

    /// UTF-16LE from the chunk as UTF-8 (escaped if this writer escapes), in one pass written in
    /// place: most of any event log is ASCII, one store per unit.
    mutating func utf16(_ r: UnsafeRawBufferPointer) {
        let n = r.count / 2
        // The longest a unit can become is an escape, \u00XX.
        reserve(6 * n)
        let out = base
        var o = count
        var i = 0
        while i < n {
            let u = UInt32(r.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
            i += 1
            if u < 0x80 {
                let b = UInt8(u)
                if !needsEscape(b) { out[o] = b; o += 1; continue }
                o += Self.escape(b, to: out + o)
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
                out[o] = UInt8(0xC0 | (scalar >> 6))
                out[o + 1] = UInt8(0x80 | (scalar & 0x3F))
                o += 2
            } else if scalar < 0x10000 {
                out[o] = UInt8(0xE0 | (scalar >> 12))
                out[o + 1] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
                out[o + 2] = UInt8(0x80 | (scalar & 0x3F))
                o += 3
            } else {
                out[o] = UInt8(0xF0 | (scalar >> 18))
                out[o + 1] = UInt8(0x80 | ((scalar >> 12) & 0x3F))
                out[o + 2] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
                out[o + 3] = UInt8(0x80 | (scalar & 0x3F))
                o += 4
            }
        }
        count = o
    }

    @inline(__always) private func needsEscape(_ b: UInt8) -> Bool { escaping && Self.escapable(b) }

    @inline(__always) private static func escapable(_ b: UInt8) -> Bool {
        b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\")
    }

    /// The JSON escape of an ASCII byte that needs one (at most 6 bytes).
    @inline(__always) private static func escape(_ b: UInt8, to p: UnsafeMutablePointer<UInt8>) -> Int {
        p[0] = UInt8(ascii: "\\")
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): p[1] = b
        case 0x0A: p[1] = UInt8(ascii: "n")
        case 0x0D: p[1] = UInt8(ascii: "r")
        case 0x09: p[1] = UInt8(ascii: "t")
        case 0x08: p[1] = UInt8(ascii: "b")
        case 0x0C: p[1] = UInt8(ascii: "f")
        default:
            p[1] = UInt8(ascii: "u")
            return 2 + ValueFormat.hex(UInt64(b), 4, upper: false, to: p + 2)
        }
        return 2
    }

    @inline(__always) private mutating func escapeASCII(_ b: UInt8) {
        write(max: 6) { Self.escape(b, to: $0) }
    }
}
