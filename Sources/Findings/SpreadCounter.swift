import Foundation
import HuntCore

/// Counts the distinct values (client addresses) behind one aggregated finding, and which sent
/// the most, in memory that does not grow with them.
///
/// Distinct values are counted exactly, by 64-bit hash, up to `exactLimit`; past it the hashes
/// go into a HyperLogLog of 2^14 registers (16 KiB, about 0.8% standard error) and the count is
/// an estimate that says so. The values with most hits are counted two ways: the first `pinned`
/// values seen keep exact counters (a scanner that keeps probing shows up early, whatever a botnet
/// sends around it), and the rest share `tracked` counters under the Space-Saving algorithm
/// (Metwally, Agrawal and El Abbadi, 2005) in a min-heap: a newcomer takes the least counter's
/// place and inherits its count as its error, so any value with more than hits/`tracked` hits is
/// sure to be counted, within its error, wherever in the stream it came (a scanner that starts
/// after a botnet's wave included). At most about 130 KiB per finding.
struct SpreadCounter {
    static let exactLimit = 4_096
    static let pinnedLimit = 512
    static let tracked = 512
    static let precision = 14

    private struct Counter {
        var value: String
        var count: Int
        var error: Int
    }

    let field: String
    private var hashes: Set<UInt64> = []
    private var registers: [UInt8] = []
    private var pinned: [String: Int] = [:]
    private var heap: [Counter] = []
    private var place: [String: Int] = [:]
    private var evicted = false

    init(field: String) {
        self.field = field
    }

    mutating func add(_ value: String) {
        count(Self.hash(value))
        if let n = pinned[value] {
            pinned[value] = n + 1
        } else if pinned.count < Self.pinnedLimit {
            pinned[value] = 1
        } else if let i = place[value] {
            heap[i].count += 1
            siftDown(i)
        } else if heap.count < Self.tracked {
            heap.append(Counter(value: value, count: 1, error: 0))
            place[value] = heap.count - 1
            siftUp(heap.count - 1)
        } else if let least = heap.first {
            place[least.value] = nil
            heap[0] = Counter(value: value, count: least.count + 1, error: least.count)
            place[value] = 0
            siftDown(0)
            evicted = true
        }
    }

    private mutating func count(_ h: UInt64) {
        guard registers.isEmpty else {
            Self.insert(h, into: &registers)
            return
        }
        hashes.insert(h)
        if hashes.count > Self.exactLimit {
            registers = Array(repeating: 0, count: 1 << Self.precision)
            for x in hashes { Self.insert(x, into: &registers) }
            hashes = []
        }
    }

    func spread(top: Int = 10) -> Finding.Spread {
        // Ranked by the hits each is sure to have sent; once counters were handed over, a count
        // of one says nothing, so those are left out.
        let ranked = (pinned.map { (value: $0.key, sure: $0.value) } + heap.map { (value: $0.value, sure: $0.count - $0.error) })
            .filter { !evicted || $0.sure > 1 }
            .sorted { $0.sure != $1.sure ? $0.sure > $1.sure : $0.value < $1.value }
            .prefix(top)
        let counts = ranked.map { Finding.Spread.Count(value: $0.value, hits: $0.sure) }
        let estimated = !registers.isEmpty
        return Finding.Spread(field: field, distinct: estimated ? max(Self.exactLimit, Self.estimate(registers)) : hashes.count,
                              estimated: estimated, top: counts, exact: !evicted)
    }

    // MARK: - Min-heap on count

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].count < heap[parent].count else { return }
            swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1, right = left + 1
            var least = i
            if left < heap.count, heap[left].count < heap[least].count { least = left }
            if right < heap.count, heap[right].count < heap[least].count { least = right }
            guard least != i else { return }
            swapAt(i, least)
            i = least
        }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        place[heap[a].value] = a
        place[heap[b].value] = b
    }

    // MARK: - HyperLogLog

    private static func insert(_ h: UInt64, into registers: inout [UInt8]) {
        let index = Int(truncatingIfNeeded: h >> UInt64(64 - precision))
        let rest = h << UInt64(precision)
        // The rank: position of the first set bit in the remaining bits (capped when all are zero).
        let rank = UInt8(min(rest.leadingZeroBitCount, 64 - precision) + 1)
        if rank > registers[index] { registers[index] = rank }
    }

    private static func estimate(_ registers: [UInt8]) -> Int {
        let m = Double(registers.count)
        var sum = 0.0
        var zeros = 0
        for r in registers {
            sum += 1.0 / Double(UInt64(1) << UInt64(r))
            if r == 0 { zeros += 1 }
        }
        let alpha = 0.7213 / (1 + 1.079 / m)
        let raw = alpha * m * m / sum
        // Few values for the registers: linear counting is the better estimate.
        if raw <= 2.5 * m, zeros > 0 { return Int((m * log(m / Double(zeros))).rounded()) }
        return Int(raw.rounded())
    }

    /// A fixed 64-bit hash (FNV-1a, then MurmurHash3's finalizer to spread the bits), so a report's
    /// estimate is the same on every run and machine.
    static func hash(_ value: String) -> UInt64 {
        var h = FNV1a.hash(value)
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}
