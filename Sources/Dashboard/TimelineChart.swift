import CaseStore
import Foundation
import HuntCore

/// The fleet timeline as an SVG bar chart: findings that began in each of `buckets` equal
/// stretches of the range, stacked by weight; each bar links to the range it stands for (zoom).
/// Computed from counts only and drawn by the page's template (Mustache escapes it), as the
/// HTML report draws its timeline.
struct TimelineChart {
    static let buckets = 60
    static let width = 960.0, height = 220.0, left = 48.0, bottom = 28.0, top = 10.0
    static let roleOrder = ["compromised", "attempted", "supporting", "informational", "mitigation"]

    let from: Date
    let to: Date
    /// counts[bucket][role]
    let counts: [[String: Int]]

    init(from: Date, to: Date, buckets: [TimelineBucket], roles: Set<VerdictRole>) {
        self.from = from
        self.to = to
        var c = [[String: Int]](repeating: [:], count: Self.buckets)
        for b in buckets where b.index >= 0 && b.index < Self.buckets {
            if roles.isEmpty || roles.contains(where: { $0.rawValue == b.role }) { c[b.index][b.role, default: 0] += b.count }
        }
        counts = c
    }

    var peak: Int { counts.map { $0.values.reduce(0, +) }.max() ?? 0 }

    /// What the template draws: bars (each a zoom link) stacked by weight, the axis and its labels.
    func chart(link: (Date, Date) -> String) -> [String: Any] {
        let plotW = Self.width - Self.left - 8, plotH = Self.height - Self.bottom - Self.top
        let barW = plotW / Double(Self.buckets)
        let span = to.timeIntervalSince(from) / Double(Self.buckets)
        // A log scale: one web-shell request must stay visible beside a million probes.
        let top = log10(Double(max(peak, 1)) + 1)
        func h(_ n: Int) -> Double { top == 0 ? 0 : log10(Double(n) + 1) / top * plotH }
        let bars: [[String: Any]] = counts.enumerated().map { i, roles in
            let total = roles.values.reduce(0, +)
            let x = Self.left + Double(i) * barW
            let a = from.addingTimeInterval(span * Double(i)), b = from.addingTimeInterval(span * Double(i + 1))
            // Stacked in proportion within the bar's log height.
            var y = Self.top + plotH
            let barH = h(total)
            var parts: [[String: Any]] = []
            for role in Self.roleOrder {
                guard let n = roles[role], n > 0, total > 0 else { continue }
                let part = barH * Double(n) / Double(total)
                y -= part
                parts.append(["role": role, "x": Self.num(x + 1), "y": Self.num(y), "w": Self.num(max(1, barW - 2)), "h": Self.num(max(part, 1))])
            }
            return ["link": link(a, b), "title": "\(ISOTime.string(a, milliseconds: false)): \(total) findings",
                    "x": Self.num(x), "w": Self.num(barW), "parts": parts]
        }
        let labels: [[String: Any]] = stride(from: 0, through: Self.buckets, by: Self.buckets / 4).map { i in
            let t = from.addingTimeInterval(span * Double(i))
            let label = span * Double(Self.buckets) > 3 * 86_400 ? ISOTime.day(t)
                : String(ISOTime.string(t, milliseconds: false).prefix(16)).replacingOccurrences(of: "T", with: " ")
            return ["x": Self.num(min(Self.left + Double(i) * barW, Self.width - 110)), "text": label]
        }
        return ["width": Int(Self.width), "height": Int(Self.height), "left": Self.left, "right": Self.width - 8, "top": Self.top,
                "plotH": plotH, "base": Self.top + plotH, "peakY": Self.top + 10, "labelY": Int(Self.height - 8), "peak": peak,
                "bars": bars, "labels": labels]
    }

    static func num(_ v: Double) -> String { String(format: "%.1f", v) }
}
