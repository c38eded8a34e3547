import Foundation

/// Finds an ASCII literal in bytes, ignoring ASCII case, the way Sigma compares by default.
///
/// Like ripgrep, it jumps with `memchr` to the needle's rarest byte and verifies around it, so
/// lines without the literal are never looked at byte by byte. A letter anchor is searched in
/// both cases at once by merging two `memchr` streams.
public struct LiteralFinder: Sendable {
    public let needle: [UInt8]
    private let anchorIndex: Int
    private let anchorLower: UInt8
    private let anchorUpper: UInt8

    /// - Parameter literal: the text to find; must not be empty.
    public init(_ literal: String) {
        needle = Array(literal.utf8).map(LiteralFinder.fold)
        precondition(!needle.isEmpty, "empty literal")
        var best = 0
        for i in needle.indices where LiteralFinder.frequency(needle[i]) < LiteralFinder.frequency(needle[best]) {
            best = i
        }
        anchorIndex = best
        anchorLower = needle[best]
        anchorUpper = (needle[best] >= 0x61 && needle[best] <= 0x7A) ? needle[best] - 0x20 : needle[best]
    }

    @inline(__always)
    static func fold(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

    /// Calls `body` with the start offset of each match, in increasing order, until it returns
    /// the offset to resume from (callers skip to the end of the matched line).
    public func forEachMatch(in base: UnsafePointer<UInt8>, count: Int, _ body: (Int) -> Int) {
        let n = needle.count
        guard count >= n else { return }
        var from = anchorIndex
        let last = count - (n - anchorIndex) // last position the anchor may sit at
        var nextLower = -1, nextUpper = -1
        while from <= last {
            let hit: Int
            if anchorLower == anchorUpper {
                guard let p = memchr(base + from, Int32(anchorLower), last - from + 1) else { return }
                hit = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
            } else {
                if nextLower < from { nextLower = Self.find(anchorLower, base, from, last) }
                if nextUpper < from { nextUpper = Self.find(anchorUpper, base, from, last) }
                hit = min(nextLower, nextUpper)
                if hit == Int.max { return }
            }
            let start = hit - anchorIndex
            if matches(at: start, base) {
                let resume = body(start)
                from = max(resume + anchorIndex, hit + 1)
            } else {
                from = hit + 1
            }
        }
    }

    private static func find(_ byte: UInt8, _ base: UnsafePointer<UInt8>, _ from: Int, _ last: Int) -> Int {
        guard let p = memchr(base + from, Int32(byte), last - from + 1) else { return Int.max }
        return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }

    @inline(__always)
    private func matches(at start: Int, _ base: UnsafePointer<UInt8>) -> Bool {
        needle.withUnsafeBufferPointer { nb in
            for i in 0..<nb.count where LiteralFinder.fold(base[start + i]) != nb[i] { return false }
            return true
        }
    }

    /// A rough count of how often a byte shows up in web and Exchange logs; the rarest byte of a
    /// literal becomes its anchor. Letters count both cases.
    static func frequency(_ b: UInt8) -> Int {
        switch b {
        case UInt8(ascii: " "), UInt8(ascii: ","): return 100
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return 90
        case UInt8(ascii: "e"), UInt8(ascii: "t"), UInt8(ascii: "a"), UInt8(ascii: "o"), UInt8(ascii: "i"),
             UInt8(ascii: "n"), UInt8(ascii: "s"), UInt8(ascii: "r"), UInt8(ascii: "c"): return 85
        case UInt8(ascii: "a")...UInt8(ascii: "z"):
            return [UInt8(ascii: "q"), UInt8(ascii: "z"), UInt8(ascii: "j"), UInt8(ascii: "x"), UInt8(ascii: "k")].contains(b) ? 45 : 70
        case UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"): return 65
        case UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "_"): return 55
        case UInt8(ascii: "&"), UInt8(ascii: "%"), UInt8(ascii: "+"): return 40
        case UInt8(ascii: "?"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): return 30
        case UInt8(ascii: "@"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "!"): return 15
        case UInt8(ascii: "~"): return 12
        default: return 5
        }
    }
}
