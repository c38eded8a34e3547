import Foundation
import HuntCore

/// IIS writes W3C times in UTC, and so does Exchange; a server set up otherwise (custom logging,
/// a collector that converted the times) writes local time with no zone. The same requests reach
/// IIS and HttpProxy within a second, so their hours with lines should line up: when IIS's hours
/// fit HttpProxy's clearly better shifted by whole hours, the IIS times are flagged. A busy server
/// with lines every hour in both gives no signal, and nothing is said.
enum ClockCheck {
    static func iisOffset(_ activity: [LogSource: [Int32]]) -> Problem? {
        let proxy = Set(activity.filter { $0.key == .httpProxy }.values.joined())
        guard let lo = proxy.min(), let hi = proxy.max() else { return nil }
        // Only the hours both could have lines in.
        let iis = Set(activity.filter { LogSource.iis.admits($0.key) }.values.joined().filter { $0 >= lo + 14 && $0 <= hi - 14 })
        guard iis.count >= 48, proxy.count >= 48 else { return nil }
        func fit(_ k: Int32) -> Double {
            let shared = iis.reduce(0) { $0 + (proxy.contains($1 &+ k) ? 1 : 0) }
            return Double(shared) / Double(iis.count)
        }
        let fits = (-14...14).map { k in (shift: Int32(k), fit: fit(Int32(k))) }
        let atZero = fits.first { $0.shift == 0 }?.fit ?? 0
        guard let winner = fits.max(by: { $0.fit < $1.fit }) else { return nil }
        let (best, bestFit) = winner
        // A clear winner: nearly every IIS hour lines up once moved, clearly fewer as written.
        guard best != 0, bestFit >= 0.95, atZero <= bestFit - 0.15 else { return nil }
        return Problem(.warning, code: "iis-time-offset",
                       message: "IIS's hours with lines match HttpProxy's when moved by \(best > 0 ? "+" : "")\(best) h (\(Int(bestFit * 100))% against "
                           + "\(Int(atZero * 100))% as written): the IIS logs may hold local time, not UTC; their findings' times may be off by that much")
    }
}
