public import Foundation

/// Windows FILETIME (100 ns ticks since 1601-01-01 UTC) to a date; 0 is "not set".
public enum FileTime {
    static let ticksTo1970: UInt64 = 116_444_736_000_000_000

    public static func date(_ ticks: UInt64) -> Date? {
        guard ticks != 0 else { return nil }
        // Whole seconds and the rest apart, so whole-second times stay exact in a Double.
        let signed = Int64(bitPattern: ticks &- ticksTo1970)
        let seconds = signed / 10_000_000, rest = signed % 10_000_000
        return Date(timeIntervalSince1970: Double(seconds) + Double(rest) / 1e7)
    }
}
