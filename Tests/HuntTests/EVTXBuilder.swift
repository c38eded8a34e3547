import Foundation

/// Writes real-format EVTX files for tests: file header, one chunk, records whose BinXML spells
/// out each element with inline names (no templates), with the CRC32 checksums Windows writes.
/// The result parses with the Rust evtx crate as well as with exhunt.
struct EVTXBuilder {
    struct Element {
        var name: String
        var attributes: [(String, String)] = []
        var children: [Element] = []
        var text: String?
    }

    private var chunk = [UInt8](repeating: 0, count: 65536)
    private var position = 512
    private var records = 0
    private var lastRecordOffset = 512

    /// A Windows event in the usual shape.
    static func event(provider: String, eventID: Int, level: Int, channel: String, computer: String, time: String,
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
        if e.children.isEmpty && e.text == nil {
            u8(0x03)
        } else {
            u8(0x02)
            if let t = e.text { u8(0x05); value(t) }
            for c in e.children { element(c) }
            u8(0x04)
        }
        patch(sizeAt, UInt32(position - sizeAt - 4))
    }

    private mutating func patch(_ at: Int, _ v: UInt32) { for i in 0..<4 { chunk[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }

    mutating func add(_ e: Element, id: UInt64, time: Date) {
        let start = position
        lastRecordOffset = start
        u32(0x0000_2A2A)
        u32(0)
        u64(id)
        u64(UInt64((time.timeIntervalSince1970 + 11_644_473_600) * 10_000_000))
        u8(0x0F); u8(1); u8(1); u8(0)
        element(e)
        u8(0x00)
        let size = UInt32(position - start + 4)
        u32(size)
        patch(start + 4, size)
        records += 1
    }

    func build(firstID: UInt64) -> Data {
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
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Collection<UInt8>>(_ bytes: C) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
