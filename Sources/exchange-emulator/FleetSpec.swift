import Foundation
import HuntCore
import Survey

/// One emulated server: what it runs and how it behaves. A fleet file is JSON Lines of these.
struct ServerSpec: Codable, Sendable {
    /// Loopback address to listen on (127.0.0.0/8 only).
    var ip: String
    /// Four-part Exchange build; empty for a plain IIS server that is not Exchange.
    var build: String = ""
    /// CVE-2021-26855 behaviour: `vulnerable`, `patched` or `mitigated` (EOMT's rewrite rule aborts the connection).
    var ssrf: String = "patched"
    /// Web-shell URL paths that answer (planted files).
    var shells: [String] = []
    /// `normal`, `iis` (not Exchange), or a misbehaviour: `slow`, `trickle`, `garbage`, `huge`, `reset`, `silent`, `close`.
    var behavior: String = "normal"
    /// Whether responses carry `X-OWA-Version` (reverse proxies often strip it).
    var header: Bool = true
    /// Whether the ECP export-tool manifest is served.
    var ecp: Bool = true
    /// How unknown paths are answered: `404`, `redirect` (to the logon page) or `login` (the logon page with 200).
    var unknown: String = "404"

    enum CodingKeys: String, CodingKey { case ip, build, ssrf, shells, behavior, header, ecp, unknown }

    init(ip: String) { self.ip = ip }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ip = try c.decode(String.self, forKey: .ip)
        build = try c.decodeIfPresent(String.self, forKey: .build) ?? ""
        ssrf = try c.decodeIfPresent(String.self, forKey: .ssrf) ?? "patched"
        shells = try c.decodeIfPresent([String].self, forKey: .shells) ?? []
        behavior = try c.decodeIfPresent(String.self, forKey: .behavior) ?? "normal"
        header = try c.decodeIfPresent(Bool.self, forKey: .header) ?? true
        ecp = try c.decodeIfPresent(Bool.self, forKey: .ecp) ?? true
        unknown = try c.decodeIfPresent(String.self, forKey: .unknown) ?? "404"
    }

    /// The first three parts: what OWA puts in its resource paths.
    var cuLevel: String { build.split(separator: ".").prefix(3).joined(separator: ".") }
}

enum Fleet {
    static func load(_ path: String) throws -> [ServerSpec] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map {
            try decoder.decode(ServerSpec.self, from: Data($0.utf8))
        }
    }

    /// A reproducible mixed fleet for demos and the benchmark: builds drawn from `builds`,
    /// about a third each SSRF-vulnerable, patched and mitigated, one in ten with a planted shell,
    /// one in twenty a plain IIS server.
    static func generate(count: Int, first: String, builds: [String], seed: UInt64) throws -> [ServerSpec] {
        guard let start = IPv4Address.parse(first) else { throw EmulatorError("bad first address \(first)") }
        var rng = SplitMix(seed: seed)
        let shells = ["/aspnet_client/supp0rt.aspx", "/aspnet_client/system_web/log.aspx", "/owa/auth/errorEE.aspx",
                      "/aspnet_client/discover.aspx", "/owa/auth/OutlookEN.aspx"]
        return try (0..<count).map { i in
            let (ip, overflow) = start.addingReportingOverflow(UInt32(i))
            guard !overflow, IPv4Address.isLoopback(ip) else { throw EmulatorError("fleet leaves 127.0.0.0/8 at host \(i)") }
            var s = ServerSpec(ip: IPv4Address.format(ip))
            if rng.next() % 20 == 0 {
                s.behavior = "iis"
                return s
            }
            s.build = builds[Int(rng.next() % UInt64(builds.count))]
            s.ssrf = ["vulnerable", "patched", "mitigated"][Int(rng.next() % 3)]
            if rng.next() % 10 == 0 { s.shells = [shells[Int(rng.next() % UInt64(shells.count))]] }
            s.unknown = ["404", "redirect", "login"][Int(rng.next() % 3)]
            return s
        }
    }
}

struct EmulatorError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

