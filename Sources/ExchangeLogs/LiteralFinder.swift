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
/// one finds their lines anyway) and literals anchored on the same byte share one `memchr` pass,
/// so a rule set costs about one pass per distinct anchor byte, not one per literal.
public struct LiteralSet: Sendable {
    struct Group: Sendable {
        var lower: UInt8
        var upper: UInt8
        var members: [LiteralFinder]
    }

    let groups: [Group]

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
    }

    public var isEmpty: Bool { groups.isEmpty }

    /// Calls `body` with the start of matches, increasing within each anchor group (not across
    /// groups); `body` returns where the search may resume.
    public func forEachMatch(in base: UnsafePointer<UInt8>, count: Int, _ body: (Int) -> Int) {
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
