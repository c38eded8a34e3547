public import ExchangeBuilds
import Foundation

/// Counts like the public surveys of March 2021 printed them.
public struct SurveySummary: Sendable {
    public var scanned = 0
    public var answered = 0
    public var exchange = 0
    public var exactBuild = 0
    public var cuOnly = 0
    public var byRelease: [String: Int] = [:]
    /// family -> status -> hosts
    public var byStatus: [String: [PatchStatus: Int]] = [:]
    public var ssrf: [String: Int] = [:]
    public var shellHosts = 0
    public var shellURLs = 0
    public var errors: [String: Int] = [:]

    public init() {}

    public mutating func add(_ r: SurveyRecord) {
        scanned += 1
        if let e = r.error {
            // Group by kind, not by text: "host timeout (30000 ms)" and similar stay one line.
            errors[String(e.prefix { $0 != "(" && $0 != ":" }).trimmingASCIISpaces, default: 0] += 1
        } else {
            answered += 1
        }
        guard r.exchange else { return }
        exchange += 1
        if r.buildPrecision == "exact" { exactBuild += 1 } else if r.buildPrecision == "cu" { cuOnly += 1 }
        let release = [r.product ?? "Exchange (build unknown)", r.cu ?? (r.cuLevel.map { "CU level \($0)" } ?? "")]
            .filter { !$0.isEmpty }.joined(separator: " ")
        byRelease[release, default: 0] += 1
        for s in r.status { byStatus[s.family, default: [:]][s.status, default: 0] += 1 }
        if let s = r.ssrf { ssrf[s, default: 0] += 1 }
        if !r.webshells.isEmpty { shellHosts += 1; shellURLs += r.webshells.count }
    }

    public func render(families: [String], seconds: Double) -> String {
        var lines: [String] = []
        let rate = seconds > 0 ? Double(scanned) / seconds : 0
        lines.append("Survey: \(scanned) host:port scanned in \(String(format: "%.1f", seconds)) s (\(Int(rate))/s), \(answered) answered")
        lines.append("Exchange found: \(exchange) (exact build \(exactBuild), CU level only \(cuOnly), no build \(exchange - exactBuild - cuOnly))")
        for (k, v) in byRelease.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            lines.append("  \(String(v).leftPadded(7))  \(k)")
        }
        for f in families {
            let s = byStatus[f] ?? [:]
            lines.append("\(f): vulnerable \(s[.vulnerable] ?? 0), uncertain \(s[.uncertain] ?? 0), patched \(s[.patched] ?? 0), unknown \(s[.unknown] ?? 0)")
        }
        if !ssrf.isEmpty {
            lines.append("CVE-2021-26855 check: vulnerable \(ssrf["vulnerable"] ?? 0), mitigated (EOMT) \(ssrf["mitigated"] ?? 0), "
                         + "not vulnerable \(ssrf["not-vulnerable"] ?? 0), error \(ssrf["error"] ?? 0)")
        }
        lines.append("Web shells: \(shellURLs) URL(s) on \(shellHosts) host(s)")
        if !errors.isEmpty {
            lines.append("Not assessed: " + errors.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
