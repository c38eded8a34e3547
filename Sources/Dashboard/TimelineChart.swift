import CaseStore
import Foundation
import HuntCore

/// The fleet timeline as an SVG bar chart: findings that began in each of `buckets` equal
/// stretches of the range, stacked by weight; each bar links to the range it stands for (zoom).
/// Drawn on the server from counts only, so no value from evidence ever enters the SVG.
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

    func svg(link: (Date, Date) -> String) -> String {
        let plotW = Self.width - Self.left - 8, plotH = Self.height - Self.bottom - Self.top
        let barW = plotW / Double(Self.buckets)
        let span = to.timeIntervalSince(from) / Double(Self.buckets)
        // A log scale: one web-shell request must stay visible beside a million probes.
        let top = log10(Double(max(peak, 1)) + 1)
        func h(_ n: Int) -> Double { top == 0 ? 0 : log10(Double(n) + 1) / top * plotH }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" role=\"img\" aria-label=\"findings over time\">"
        out += "<line class=\"axis\" x1=\"\(Self.left)\" y1=\"\(Self.top + plotH)\" x2=\"\(Self.width - 8)\" y2=\"\(Self.top + plotH)\"/>"
        out += "<text class=\"label\" x=\"4\" y=\"\(Self.top + 10)\">\(peak)</text><text class=\"label\" x=\"4\" y=\"\(Self.top + plotH)\">0</text>"
        for (i, roles) in counts.enumerated() {
            let total = roles.values.reduce(0, +)
            let x = Self.left + Double(i) * barW
            let a = from.addingTimeInterval(span * Double(i)), b = from.addingTimeInterval(span * Double(i + 1))
            out += "<a href=\"\(Self.attribute(link(a, b)))\"><title>\(Self.attribute(ISOTime.string(a, milliseconds: false))): \(total) findings</title>"
            out += "<rect class=\"hit\" x=\"\(Self.num(x))\" y=\"\(Self.top)\" width=\"\(Self.num(barW))\" height=\"\(Self.num(plotH))\"/>"
            // Stacked in proportion within the bar's log height.
            var y = Self.top + plotH
            let barH = h(total)
            for role in Self.roleOrder {
                guard let n = roles[role], n > 0, total > 0 else { continue }
                let part = barH * Double(n) / Double(total)
                y -= part
                out += "<rect class=\"bar \(role)\" x=\"\(Self.num(x + 1))\" y=\"\(Self.num(y))\" width=\"\(Self.num(max(1, barW - 2)))\" height=\"\(Self.num(max(part, 1)))\"/>"
            }
            out += "</a>"
        }
        for i in stride(from: 0, through: Self.buckets, by: Self.buckets / 4) {
            let x = Self.left + Double(i) * barW
            let t = from.addingTimeInterval(span * Double(i))
            let label = span * Double(Self.buckets) > 3 * 86_400 ? ISOTime.day(t) : String(ISOTime.string(t, milliseconds: false).prefix(16)).replacingOccurrences(of: "T", with: " ")
            out += "<text class=\"label\" x=\"\(Self.num(min(x, Self.width - 110)))\" y=\"\(Int(Self.height - 8))\">\(Self.attribute(label))</text>"
        }
        return out + "</svg>"
    }

    static func num(_ v: Double) -> String { String(format: "%.1f", v) }

    /// For our own links and labels inside the SVG (they hold no evidence, but are escaped as
    /// everything is).
    static func attribute(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }
}
