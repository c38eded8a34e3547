/// Reading a record's values where they lie in the chunk: whether a value counts as null or
/// empty (the shape of the JSON depends on it), its items if it is an array, and its text or JSON
/// form written straight into an output buffer.
extension RawValue {
    /// Fixed-size types decode to null when their bytes are too short (a damaged value).
    var decodesToNull: Bool {
        let n = Int(count)
        switch type {
        case 0x00: return true
        case 0x03, 0x04: return n < 1
        case 0x05, 0x06: return n < 2
        case 0x07, 0x08, 0x0B, 0x0D, 0x14: return n < 4
        case 0x09, 0x0A, 0x0C, 0x11, 0x15: return n < 8
        case 0x0F, 0x12: return n < 16
        case 0x10: return n != 8 && n < 4
        default: return false
        }
    }

    /// Whether the value's bytes make it empty (an optional substitution with it is left out);
    /// for fragments and pooled text the caller knows better and is asked.
    func decodesToEmpty(in chunk: UnsafeRawBufferPointer, otherwise: (RawValue) -> Bool) -> Bool {
        if decodesToNull { return true }
        let n = Int(count)
        switch type {
        case 0x01: return n < 2
        case 0x02: return n == 0 || chunk[Int(start)] == 0
        case 0x0E: return n == 0
        case 0x13: return n < 8
        case RawValue.instance, RawValue.pooled: return otherwise(self)
        case 0x81: return n < 2
        case let t where t & 0x80 != 0:
            guard let size = RawValue.itemSize(t & 0x7F) else { return n == 0 }
            return n < size
        case 0x03...0x0D, 0x0F...0x12, 0x14, 0x15: return false
        default: return n == 0
        }
    }

    /// The size of one item of an array of `type` (fixed-size types only).
    static func itemSize(_ type: UInt8) -> Int? {
        switch type {
        case 0x03, 0x04: 1
        case 0x05, 0x06: 2
        case 0x07, 0x08, 0x0B, 0x0D, 0x14: 4
        case 0x09, 0x0A, 0x0C, 0x11, 0x15: 8
        case 0x0F, 0x12: 16
        default: nil
        }
    }

    /// Whether this is an array value (with items), as opposed to a scalar or a hex-dumped blob.
    var isArray: Bool {
        type & 0x80 != 0 && type != RawValue.instance && type != RawValue.pooled
            && (type == 0x81 || RawValue.itemSize(type & 0x7F) != nil)
    }
}

extension RecordView {
    func isNull(_ v: RawValue) -> Bool {
        v.flags != 0 ? v.flags & RawValue.nullFlag != 0 : v.decodesToNull
    }

    /// Whether an optional substitution with this value is left out.
    func isEmpty(_ v: RawValue) -> Bool {
        if v.flags != 0 { return v.flags & RawValue.emptyFlag != 0 }
        return v.decodesToEmpty(in: chunk) { v in
            v.type == RawValue.instance ? instances[Int(v.start)].nodes.isEmpty : pool[Int(v.start)].isEmpty
        }
    }

    /// The items of an array value: NUL-separated strings, or fixed-size values.
    func forEachItem(_ v: RawValue, _ body: (RawValue) -> Void) {
        let start = Int(v.start), n = Int(v.count)
        if v.type == 0x81 {
            var itemStart = start
            var i = start
            while i + 1 < start + n {
                if chunk.loadUnaligned(fromByteOffset: i, as: UInt16.self) == 0 {
                    body(RawValue(type: 0x01, start: Int32(itemStart), count: Int32(i - itemStart)))
                    itemStart = i + 2
                }
                i += 2
            }
            if i > itemStart { body(RawValue(type: 0x01, start: Int32(itemStart), count: Int32(i - itemStart))) }
            return
        }
        guard let size = RawValue.itemSize(v.type & 0x7F) else { return }
        var i = 0
        while i + size <= n {
            body(RawValue(type: v.type & 0x7F, start: Int32(start + i), count: Int32(size)))
            i += size
        }
    }

    @inline(__always) func bytes(_ v: RawValue) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: chunk[Int(v.start)..<Int(v.start) + Int(v.count)])
    }

    /// Writes `v` as a JSON value, or (`text`) as the characters it stands for inside a string
    /// that the caller opened: null is empty there, arrays are comma-joined, fragments are empty.
    func write(_ v: RawValue, text: Bool, to w: inout JSONWriter) {
        guard w.ops != nil, v.slot >= 0, v.type != RawValue.instance else { writeValue(v, text: text, to: &w); return }
        let start = w.count
        writeValue(v, text: text, to: &w)
        w.ops?.append(.init(start: Int32(start), end: Int32(w.count), slot: v.slot, text: text))
    }

    private func writeValue(_ v: RawValue, text: Bool, to w: inout JSONWriter) {
        func int<T: FixedWidthInteger>(_: T.Type) -> T { T(littleEndian: bytes(v).loadUnaligned(as: T.self)) }
        func quoted(_ body: (inout JSONWriter) -> Void) {
            if !text { w.quote() }
            body(&w)
            if !text { w.quote() }
        }
        if isNull(v) {
            if !text { w.raw("null") }
            return
        }
        switch v.type {
        case 0x01: quoted { $0.utf16(bytes(v)) }
        case 0x02:
            let raw = bytes(v)
            let s = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            quoted { $0.text(s) }
        case 0x03: w.decimal(Int64(int(Int8.self)))
        case 0x04: w.decimal(Int64(int(UInt8.self)))
        case 0x05: w.decimal(Int64(int(Int16.self)))
        case 0x06: w.decimal(Int64(int(UInt16.self)))
        case 0x07: w.decimal(Int64(int(Int32.self)))
        case 0x08: w.decimal(Int64(int(UInt32.self)))
        case 0x09: w.decimal(int(Int64.self))
        case 0x0A: w.decimal(int(UInt64.self))
        case 0x0B: w.text(BinXMLParser.number(Double(Float(bitPattern: int(UInt32.self)))))
        case 0x0C: w.text(BinXMLParser.number(Double(bitPattern: int(UInt64.self))))
        case 0x0D: if int(UInt32.self) != 0 { w.raw("true") } else { w.raw("false") }
        case 0x0F: quoted { $0.write(max: 36) { ValueFormat.guid(bytes(v), to: $0) } }
        case 0x10:
            let wide = v.count == 8
            let value = wide ? int(UInt64.self) : UInt64(int(UInt32.self))
            quoted { $0.write(max: 18) { p in Self.prefixed(p) { ValueFormat.hex(value, wide ? 16 : 8, upper: false, to: $0) } } }
        case 0x11: quoted { $0.write(max: ValueFormat.maxBytes) { ValueFormat.filetime(int(UInt64.self), to: $0) } }
        case 0x12: quoted { $0.write(max: ValueFormat.maxBytes) { ValueFormat.systemtime(bytes(v), to: $0) } }
        case 0x13: quoted { $0.write(max: ValueFormat.sidBytes(bytes(v))) { ValueFormat.sid(bytes(v), to: $0) } }
        case 0x14:
            let value = UInt64(int(UInt32.self))
            quoted { $0.write(max: 18) { p in Self.prefixed(p) { ValueFormat.hex(value, 0, upper: false, to: $0) } } }
        case 0x15:
            let value = int(UInt64.self)
            quoted { $0.write(max: 18) { p in Self.prefixed(p) { ValueFormat.hex(value, 0, upper: false, to: $0) } } }
        case RawValue.pooled: quoted { $0.text(pool[Int(v.start)]) }
        case RawValue.instance:
            if !text { JSONRender.object(self, instance: Int(v.start), to: &w) }
        default:
            guard v.isArray else {
                let raw = bytes(v)
                quoted { w in
                    // Upper-case hex of every byte, a block at a time (binary values can be long).
                    var at = 0
                    while at < raw.count {
                        let end = min(raw.count, at + 512)
                        w.write(max: 1024) { p in
                            for i in at..<end { _ = ValueFormat.hex(UInt64(raw[i]), 2, to: p + 2 * (i - at)) }
                            return 2 * (end - at)
                        }
                        at = end
                    }
                }
                return
            }
            if !text { w.byte(UInt8(ascii: "[")) }
            var first = true
            forEachItem(v) { item in
                if !first { w.byte(UInt8(ascii: ",")) }
                first = false
                write(item, text: text, to: &w)
            }
            if !text { w.byte(UInt8(ascii: "]")) }
        }
    }

    /// `0x` and what `hex` writes after it.
    @inline(__always) private static func prefixed(_ p: UnsafeMutablePointer<UInt8>, _ hex: (UnsafeMutablePointer<UInt8>) -> Int) -> Int {
        p[0] = UInt8(ascii: "0"); p[1] = UInt8(ascii: "x")
        return 2 + hex(p + 2)
    }

    /// The value's text as a String (for matching): arrays joined with `separator`.
    func string(_ v: RawValue, arraySeparator: String = ",") -> String {
        switch v.type {
        case RawValue.pooled: return pool[Int(v.start)]
        default: break
        }
        // Through UTF-8 bytes: the standard library's UTF-16 decoding is far slower.
        var w = JSONWriter(escaping: false, capacity: v.type == 0x01 ? Int(v.count) * 3 / 2 : 64)
        if arraySeparator != ",", v.isArray {
            var first = true
            forEachItem(v) { item in
                if !first { w.text(arraySeparator) }
                first = false
                write(item, text: true, to: &w)
            }
        } else {
            write(v, text: true, to: &w)
        }
        return w.string
    }
}
