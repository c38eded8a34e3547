import Foundation
import HuntCore

/// Client addresses counted straight from a log's bytes: an open-addressing table whose keys live
/// in one byte arena, so a line costs no allocation and no `String`; strings are made once per
/// distinct address, when the counts are handed over.
///
/// Bounded by design: at most `limit` addresses (each at most `maxKeyLength` bytes) are kept, so
/// the arena and the slots never outgrow what `limit` allows, whatever the log holds. Keys are
/// hashed with the standard library's per-process seeded hasher, so addresses chosen to collide
/// (an attacker controls what a log records) cannot turn the probes quadratic.
struct ClientTable {
    static let maxKeyLength = 47

    private struct Slot {
        /// The key's hash with the low bit set; 0 marks an empty slot.
        var tag: UInt64 = 0
        var keyStart = 0
        var keyLength: UInt8 = 0
        var lines = 0
        var first = Int32.max
        var last = Int32.min
    }

    let limit: Int
    private var slots: [Slot]
    private var arena: [UInt8] = []
    private(set) var count = 0
    /// Addresses not kept because the table was full.
    private(set) var dropped = 0

    init(limit: Int) {
        self.limit = max(1, limit)
        slots = Array(repeating: Slot(), count: 256)
    }

    /// Counts `lines` lines of the address in `key`, written in hours `first...last` (nil: no time).
    mutating func add(_ key: UnsafeBufferPointer<UInt8>, lines: Int, first: Int32?, last: Int32?) {
        guard let keyBase = key.baseAddress, key.count > 0, key.count <= Self.maxKeyLength else { return }
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(key))
        let tag = UInt64(UInt(bitPattern: hasher.finalize())) | 1
        var i = Int(truncatingIfNeeded: tag >> 1) & (slots.count - 1)
        while slots[i].tag != 0 {
            if slots[i].tag == tag, Int(slots[i].keyLength) == key.count,
               arena.withUnsafeBufferPointer({ a in a.baseAddress.map { memcmp($0 + slots[i].keyStart, keyBase, key.count) == 0 } ?? false }) {
                merge(&slots[i], lines: lines, first: first, last: last)
                return
            }
            i = (i + 1) & (slots.count - 1)
        }
        guard count < limit else {
            dropped += 1
            return
        }
        var slot = Slot(tag: tag, keyStart: arena.count, keyLength: UInt8(key.count))
        arena.append(contentsOf: key)
        merge(&slot, lines: lines, first: first, last: last)
        slots[i] = slot
        count += 1
        // Kept at most half full, so probes stay short; the slot count stops growing with `limit`.
        if count * 2 > slots.count { grow() }
    }

    private func merge(_ slot: inout Slot, lines: Int, first: Int32?, last: Int32?) {
        slot.lines += lines
        if let first { slot.first = min(slot.first, first) }
        if let last { slot.last = max(slot.last, last) }
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(), count: old.count * 2)
        for s in old where s.tag != 0 {
            var i = Int(truncatingIfNeeded: s.tag >> 1) & (slots.count - 1)
            while slots[i].tag != 0 { i = (i + 1) & (slots.count - 1) }
            slots[i] = s
        }
    }

    /// The counts by address text.
    func counts() -> [String: ClientCount] {
        var out: [String: ClientCount] = [:]
        out.reserveCapacity(count)
        arena.withUnsafeBufferPointer { a in
            for s in slots where s.tag != 0 {
                let text = String(decoding: UnsafeBufferPointer(rebasing: a[s.keyStart..<s.keyStart + Int(s.keyLength)]), as: UTF8.self)
                out[text] = ClientCount(first: s.first == .max ? nil : s.first, last: s.last == .min ? nil : s.last, lines: s.lines)
            }
        }
        return out
    }
}
