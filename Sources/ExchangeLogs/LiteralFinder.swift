import HuntCore
import Foundation

/// Finds an ASCII literal in bytes, ignoring ASCII case, the way Sigma compares by default.
///
/// Like ripgrep, it jumps with `memchr` to the needle's rarest byte and verifies around it, so
/// lines without the literal are never looked at byte by byte. A letter anchor is searched in
/// both cases at once by merging two `memchr` streams.
public struct LiteralFinder: Sendable {
    public let needle: [UInt8]
    let anchorIndex: Int
    let anchorLower: UInt8
    let anchorUpper: UInt8

    /// - Parameter literal: the text to find; must not be empty.
    public init(_ literal: String) {
        needle = Array(literal.utf8).map(LiteralFinder.fold)
        precondition(!needle.isEmpty, "empty literal")
        var best = 0
        for i in needle.indices where ByteFrequency.of(needle[i]) < ByteFrequency.of(needle[best]) {
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

    static func find(_ byte: UInt8, _ base: UnsafePointer<UInt8>, _ from: Int, _ last: Int) -> Int {
        guard let p = memchr(base + from, Int32(byte), last - from + 1) else { return Int.max }
        return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }

    @inline(__always)
    func matches(at start: Int, _ base: UnsafePointer<UInt8>) -> Bool {
        needle.withUnsafeBufferPointer { nb in
            for i in 0..<nb.count where LiteralFinder.fold(base[start + i]) != nb[i] { return false }
            return true
        }
    }
}

/// Several literals searched together: literals that contain another are dropped (the shorter
/// one finds their lines anyway).
///
/// A small set is searched in one pass with a packed-pair filter, as ripgrep's memchr crate does
/// for one needle: each literal is known by its two rarest bytes at their distance apart, sixteen
/// positions are tested at once for every literal's pair (ASCII case folded by setting bit 5, so
/// a few punctuation bytes collide; every candidate is verified), and only a block where some
/// pair fits is looked at byte by byte. A set too large for that falls back to one `memchr` pass
/// per distinct anchor byte, literals sharing an anchor verified together.
public struct LiteralSet: Sendable {
    struct Group: Sendable {
        var lower: UInt8
        var upper: UInt8
        var members: [LiteralFinder]
    }

    /// One literal's two rarest bytes, folded (`| 0x20`), at `first` and `second` in the literal.
    /// Plain values only, so the vector loop retains nothing.
    struct Pair: Sendable {
        var first: Int
        var second: Int
        var firstByte: SIMD16<UInt8>
        var secondByte: SIMD16<UInt8>
    }

    let groups: [Group]
    let pairs: [Pair]
    /// The literal of each pair, in the same order.
    let pairLiterals: [LiteralFinder]
    /// The furthest any pair's second byte lies from its literal's start.
    let reach: Int
    /// More literals than this are searched by anchor groups (each pair costs five vector operations per 16 bytes).
    static let maxPairs = 12

    public init(_ literals: [String]) {
        let folded = Array(Set(literals.filter { !$0.isEmpty }.map { String(decoding: Array($0.utf8).map(LiteralFinder.fold), as: UTF8.self) }))
        let kept = folded.filter { a in !folded.contains { b in b != a && a.contains(b) } }.sorted()
        var groups: [Group] = []
        for literal in kept {
            let f = LiteralFinder(literal)
            if let i = groups.firstIndex(where: { $0.lower == f.anchorLower }) {
                groups[i].members.append(f)
            } else {
                groups.append(Group(lower: f.anchorLower, upper: f.anchorUpper, members: [f]))
            }
        }
        self.groups = groups
        var pairs: [Pair] = []
        var pairLiterals: [LiteralFinder] = []
        if kept.count <= Self.maxPairs, kept.allSatisfy({ $0.utf8.count >= 2 }) {
            for literal in kept {
                let f = LiteralFinder(literal)
                let n = f.needle
                var best = (0, 1, Int.max)
                for i in 0..<n.count {
                    for j in (i + 1)..<n.count {
                        let cost = ByteFrequency.of(n[i]) * ByteFrequency.of(n[j])
                        if cost < best.2 { best = (i, j, cost) }
                    }
                }
                pairs.append(Pair(first: best.0, second: best.1, firstByte: SIMD16(repeating: n[best.0] | 0x20),
                                  secondByte: SIMD16(repeating: n[best.1] | 0x20)))
                pairLiterals.append(f)
            }
        }
        self.pairs = pairs
        self.pairLiterals = pairLiterals
        reach = pairs.map(\.second).max() ?? 0
    }

    public var isEmpty: Bool { groups.isEmpty }

    /// Calls `body` with the start of matches (increasing with the pair filter; increasing within
    /// each anchor group, not across groups, without); `body` returns where the search may resume.
    public func forEachMatch(in base: UnsafePointer<UInt8>, count: Int, _ body: (Int) -> Int) {
        if pairs.isEmpty {
            forEachMatchByGroup(in: base, count: count, body)
            return
        }
        pairs.withUnsafeBufferPointer { pairs in
            let raw = UnsafeRawPointer(base)
            let fold = SIMD16<UInt8>(repeating: 0x20)
            var p = 0
            // Vector blocks while every pair's 16 loads stay inside the buffer.
            while p + reach + 16 <= count {
                var hits = SIMDMask<SIMD16<Int8>>(repeating: false)
                for pair in pairs {
                    // In bounds: p + reach + 16 <= count, so neither sum can overflow.
                    let a = raw.loadUnaligned(fromByteOffset: p &+ pair.first, as: SIMD16<UInt8>.self) | fold
                    let b = raw.loadUnaligned(fromByteOffset: p &+ pair.second, as: SIMD16<UInt8>.self) | fold
                    hits .|= (a .== pair.firstByte) .& (b .== pair.secondByte)
                }
                // `any(_:)` compiles to a chain of shuffles; two words ORed is a test and a branch.
                let words = unsafeBitCast(hits, to: SIMD2<UInt64>.self)
                guard words[0] | words[1] != 0 else {
                    p += 16
                    continue
                }
                var resume = p + 16
                for k in 0..<16 where hits[k] {
                    if verify(at: p + k, base, count) {
                        resume = max(body(p + k), p + k + 1)
                        break
                    }
                }
                p = resume
            }
            // The tail, position by position.
            while p < count {
                p = verify(at: p, base, count) ? max(body(p), p + 1) : p + 1
            }
        }
    }

    /// Whether some literal begins at `start`.
    private func verify(at start: Int, _ base: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        pairLiterals.contains { start + $0.needle.count <= count && $0.matches(at: start, base) }
    }

    private func forEachMatchByGroup(in base: UnsafePointer<UInt8>, count: Int, _ body: (Int) -> Int) {
        for g in groups {
            var from = 0
            var nextLower = -1, nextUpper = -1
            while from < count {
                let hit: Int
                if g.lower == g.upper {
                    guard let p = memchr(base + from, Int32(g.lower), count - from) else { break }
                    hit = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                } else {
                    if nextLower < from { nextLower = LiteralFinder.find(g.lower, base, from, count - 1) }
                    if nextUpper < from { nextUpper = LiteralFinder.find(g.upper, base, from, count - 1) }
                    hit = min(nextLower, nextUpper)
                    if hit == Int.max { break }
                }
                var resume = hit + 1
                for m in g.members {
                    let start = hit - m.anchorIndex
                    if start >= 0, start + m.needle.count <= count, m.matches(at: start, base) {
                        resume = max(resume, body(start))
                        break
                    }
                }
                from = resume
            }
        }
    }
}
