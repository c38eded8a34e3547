public import Foundation

/// Writes real-format EVTX files for tests: file header, one chunk, records whose BinXML spells
/// out each element with inline names (no templates), with the CRC32 checksums Windows writes.
/// The result parses with the Rust evtx crate as well as with exhunt.
public struct EVTXBuilder: Sendable {
    public struct Element: Sendable {
        public var name: String
        public var attributes: [(String, String)] = []
        public var children: [Element] = []
        public var text: String?
        /// Entity references (`quot`, `amp`...) written after the text, each as BinXML's token 0x09.
        public var entities: [String] = []

        public init(name: String, attributes: [(String, String)] = [], children: [Element] = [], text: String? = nil,
                    entities: [String] = []) {
            self.name = name
            self.attributes = attributes
            self.children = children
            self.text = text
            self.entities = entities
        }
    }

    public init() {}

    private var chunk = [UInt8](repeating: 0, count: 65536)
    private var position = 512
    private var records = 0
    private var lastRecordOffset = 512

    /// A Windows event in the usual shape.
    public static func event(provider: String, eventID: Int, level: Int, channel: String, computer: String, time: String,
                      data: [(String?, String)]) -> Element {
        Element(name: "Event", attributes: [("xmlns", "http://schemas.microsoft.com/win/2004/08/events/event")], children: [
            Element(name: "System", children: [
                Element(name: "Provider", attributes: [("Name", provider)]),
                Element(name: "EventID", text: String(eventID)),
                Element(name: "Level", text: String(level)),
                Element(name: "TimeCreated", attributes: [("SystemTime", time)]),
                Element(name: "EventRecordID", text: "0"),
                Element(name: "Channel", text: channel),
                Element(name: "Computer", text: computer),
            ]),
            Element(name: "EventData", children: data.map { name, value in
                Element(name: "Data", attributes: name.map { [("Name", $0)] } ?? [], text: value)
            }),
        ])
    }

    private mutating func u8(_ v: UInt8) { chunk[position] = v; position += 1 }
    private mutating func u16(_ v: UInt16) { for i in 0..<2 { u8(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    private mutating func u32(_ v: UInt32) { for i in 0..<4 { u8(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    private mutating func u64(_ v: UInt64) { for i in 0..<8 { u8(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    private mutating func utf16(_ s: String) { for u in s.utf16 { u16(u) } }

    private mutating func name(_ s: String) {
        u32(UInt32(position + 4))  // the name follows inline
        u32(0)
        var hash: UInt32 = 0
        for u in s.utf16 { hash = hash &* 65599 &+ UInt32(u) }
        u16(UInt16(truncatingIfNeeded: hash))
        u16(UInt16(s.utf16.count))
        utf16(s)
        u16(0)
    }

    private mutating func value(_ s: String) {
        u8(0x01)
        u16(UInt16(s.utf16.count))
        utf16(s)
    }

    private mutating func element(_ e: Element) {
        u8(e.attributes.isEmpty ? 0x01 : 0x41)
        let sizeAt = position
        u32(0)
        name(e.name)
        if !e.attributes.isEmpty {
            let listAt = position
            u32(0)
            for (i, (k, v)) in e.attributes.enumerated() {
                u8(i == e.attributes.count - 1 ? 0x06 : 0x46)
                name(k)
                u8(0x05)
                value(v)
            }
            patch(listAt, UInt32(position - listAt - 4))
        }
        if e.children.isEmpty && e.text == nil && e.entities.isEmpty {
            u8(0x03)
        } else {
            u8(0x02)
            if let t = e.text { u8(0x05); value(t) }
            for entity in e.entities { u8(0x09); name(entity) }
            for c in e.children { element(c) }
            u8(0x04)
        }
        patch(sizeAt, UInt32(position - sizeAt - 4))
    }

    private mutating func patch(_ at: Int, _ v: UInt32) { for i in 0..<4 { chunk[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }

    public mutating func add(_ e: Element, id: UInt64, time: Date) {
        record(id: id, time: time) { $0.element(e) }
    }

    /// A record: its header, a fragment header, what `body` writes, the end of the fragment, and
    /// the size at both ends.
    private mutating func record(id: UInt64, time: Date, _ body: (inout EVTXBuilder) -> Void) {
        let start = position
        lastRecordOffset = start
        u32(0x0000_2A2A)
        u32(0)
        u64(id)
        u64(UInt64((time.timeIntervalSince1970 + 11_644_473_600) * 10_000_000))
        u8(0x0F); u8(1); u8(1); u8(0)
        body(&self)
        u8(0x00)
        let size = UInt32(position - start + 4)
        u32(size)
        patch(start + 4, size)
        records += 1
    }

    /// A hostile record: a template whose element uses substitution 0 `uses` times, instantiated
    /// with a value that is a fragment instantiating the same template, `depth` levels deep, the
    /// innermost value a short string. Rendering it naively visits `uses` to the power `depth` nodes.
    public mutating func addFanOut(uses: Int, depth: Int, id: UInt64, time: Date) {
        record(id: id, time: time) { $0.fanOut(uses: uses, depth: depth) }
    }

    private mutating func fanOut(uses: Int, depth: Int) {
        // The template instance, its definition inline.
        u8(0x0C); u8(1); u32(7)
        let definition = position + 4
        u32(UInt32(definition))
        u32(0)
        for _ in 0..<16 { u8(0xAB) }
        let sizeAt = position
        u32(0)
        let bodyStart = position
        u8(0x0F); u8(1); u8(1); u8(0)
        u8(0x01); u16(0xFFFF)
        let elementSizeAt = position
        u32(0)
        name("Fan")
        u8(0x02)
        for _ in 0..<uses { u8(0x0E); u16(0); u8(0x21) }
        u8(0x04)
        patch(elementSizeAt, UInt32(position - elementSizeAt - 4))
        u8(0x00)
        patch(sizeAt, UInt32(position - bodyStart))
        // The values: one, a fragment instantiating the same definition by offset, nested.
        var inner: [UInt8] = Array("x".utf16.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] })
        var innerType: UInt8 = 0x01
        for _ in 1..<max(1, depth) {
            var f: [UInt8] = [0x0F, 1, 1, 0, 0x0C, 1]
            func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
            f += le32(7) + le32(UInt32(definition)) + le32(1)
            f += [UInt8(truncatingIfNeeded: inner.count), UInt8(truncatingIfNeeded: inner.count >> 8), innerType, 0]
            f += inner
            f.append(0x00)
            inner = f
            innerType = 0x21
        }
        u32(1)
        u16(UInt16(truncatingIfNeeded: inner.count)); u8(innerType); u8(0)
        for b in inner { u8(b) }
    }

    /// A node of a template: an element, literal text, or substitution `index` (token 0x0E when
    /// `optional`, else 0x0D) declared with `type`.
    public indirect enum TemplateNode: Sendable {
        case element(String, attributes: [(String, TemplateNode)] = [], children: [TemplateNode] = [])
        case text(String)
        case substitution(Int, optional: Bool, type: UInt8)
    }

    /// A record that instantiates a template defined inline (as the first record of a chunk
    /// does), with these substitution values (BinXML value type and bytes).
    public mutating func addTemplated(_ root: TemplateNode, values: [(type: UInt8, bytes: [UInt8])], id: UInt64, time: Date) {
        record(id: id, time: time) { b in
            b.u8(0x0C); b.u8(1); b.u32(UInt32(truncatingIfNeeded: id))
            b.u32(UInt32(b.position + 4))
            b.u32(0)
            for i in 0..<16 { b.u8(UInt8(i)) }
            let sizeAt = b.position
            b.u32(0)
            let bodyStart = b.position
            b.u8(0x0F); b.u8(1); b.u8(1); b.u8(0)
            b.templateNode(root)
            b.u8(0x00)
            b.patch(sizeAt, UInt32(b.position - bodyStart))
            b.u32(UInt32(values.count))
            for v in values { b.u16(UInt16(v.bytes.count)); b.u8(v.type); b.u8(0) }
            for v in values { for byte in v.bytes { b.u8(byte) } }
        }
    }

    private mutating func templateNode(_ n: TemplateNode) {
        switch n {
        case .text(let t):
            u8(0x05)
            value(t)
        case .substitution(let index, let optional, let type):
            u8(optional ? 0x0E : 0x0D); u16(UInt16(index)); u8(type)
        case .element(let name, let attributes, let children):
            u8(attributes.isEmpty ? 0x01 : 0x41)
            u16(0xFFFF)
            let sizeAt = position
            u32(0)
            self.name(name)
            if !attributes.isEmpty {
                let listAt = position
                u32(0)
                for (i, (k, v)) in attributes.enumerated() {
                    u8(i == attributes.count - 1 ? 0x06 : 0x46)
                    self.name(k)
                    templateNode(v)
                }
                patch(listAt, UInt32(position - listAt - 4))
            }
            if children.isEmpty {
                u8(0x03)
            } else {
                u8(0x02)
                for c in children { templateNode(c) }
                u8(0x04)
            }
            patch(sizeAt, UInt32(position - sizeAt - 4))
        }
    }

    public func build(firstID: UInt64) -> Data {
        var c = chunk
        func put64(_ at: Int, _ v: UInt64) { for i in 0..<8 { c[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        func put32(_ at: Int, _ v: UInt32) { for i in 0..<4 { c[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        c.replaceSubrange(0..<8, with: Array("ElfChnk\0".utf8))
        put64(8, firstID); put64(16, firstID + UInt64(records) - 1)
        put64(24, firstID); put64(32, firstID + UInt64(records) - 1)
        put32(40, 128)
        put32(44, UInt32(lastRecordOffset))
        put32(48, UInt32(position))
        put32(52, CRC32.checksum(c[512..<position]))
        put32(124, CRC32.checksum(c[0..<120] + c[128..<512]))
        var h = [UInt8](repeating: 0, count: 4096)
        h.replaceSubrange(0..<8, with: Array("ElfFile\0".utf8))
        func hput(_ at: Int, _ v: UInt64, _ n: Int) { for i in 0..<n { h[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        hput(8, 0, 8); hput(16, 0, 8); hput(24, firstID + UInt64(records), 8)
        hput(32, 128, 4); hput(36, 1, 2); hput(38, 3, 2); hput(40, 4096, 2); hput(42, 1, 2)
        hput(124, UInt64(CRC32.checksum(h[0..<120])), 4)
        return Data(h + c)
    }
}

/// CRC-32 (IEEE, the zlib one) for the chunk and header checksums.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum<C: Collection<UInt8>>(_ bytes: C) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
