import ArgumentParser
import Foundation
import HuntCore

@main
struct SampleGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exhunt-samplegen",
        abstract: "Writes exhunt's sample evidence and benchmark logs (synthetic, realistic formats).",
        subcommands: [Samples.self, Bench.self])
}

struct Samples: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write Samples/compromised-server and Samples/clean-server.")
    @Option(help: "Output folder.") var out = "Samples"

    func run() throws {
        let root = URL(fileURLWithPath: out)
        try? FileManager.default.removeItem(at: root.appendingPathComponent("compromised-server"))
        try? FileManager.default.removeItem(at: root.appendingPathComponent("clean-server"))
        try CompromisedServer(root: root.appendingPathComponent("compromised-server")).write()
        try CleanServer(root: root.appendingPathComponent("clean-server")).write()
        print("wrote \(out)/compromised-server and \(out)/clean-server")
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write about SIZE bytes of HttpProxy logs for the benchmark.")
    @Option(help: "Output folder.") var out: String
    @Option(help: "Total size in MiB.") var mib = 1024
    @Option(help: "Size of each log file in MiB.") var fileMib = 32
    @Option(help: "Every Nth line is a mass scanner's ProxyLogon probe (0: none), from one of --scanners addresses.")
    var probeEvery = 0
    @Option(help: "How many scanner addresses send the probes.") var scanners = 2_000
    @Option(help: ArgumentHelp("How many probes come each from an address of its own (a botnet), in 100.64.0.0/10.",
                               discussion: "With --scanners 0 every probe does; otherwise they alternate with the scanners' probes until this many were sent."))
    var oneShot = 0

    func run() throws {
        let root = URL(fileURLWithPath: out)
        var rng = SplitMix(seed: 7)
        let target = mib << 20
        var written = 0
        var hour = 0
        var probes = 0
        var oneShots = 0
        let protocols = ["Owa", "Ews", "Mapi", "Autodiscover", "Ecp", "Eas", "RpcHttp"]
        let start = Date(timeIntervalSince1970: 1_612_137_600) // 2021-02-01
        while written < target {
            let proto = protocols[hour % protocols.count]
            let fileStart = start.addingTimeInterval(Double(hour) * 3600)
            let name = "HttpProxy_\(Fmt.fileHour(fileStart))-1.LOG"
            let dir = root.appendingPathComponent("Exchange Server/V15/Logging/HttpProxy/\(proto)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var text = HttpProxy.header(date: fileStart)
            var t = fileStart
            let perFile = min(fileMib << 20, target - written)
            var n = 0
            while text.utf8.count < perFile {
                t = t.addingTimeInterval(Double(rng.next() % 400) / 1000)
                n += 1
                // One line in ~20,000 is an attack; the rest is busy, ordinary traffic.
                if probeEvery > 0 && n % probeEvery == 0 {
                    // What every internet-facing server of March 2021 logged by the hundred thousand.
                    let scanner = Int(rng.next() % UInt64(max(1, scanners)))
                    probes += 1
                    var client = "198.18.\(scanner / 250).\(scanner % 250 + 1)"
                    if oneShots < oneShot, scanners == 0 || probes % 2 == 1 {
                        client = "100.\(64 + (oneShots >> 16) & 63).\((oneShots >> 8) & 255).\(oneShots & 255)"
                        oneShots += 1
                    }
                    text += HttpProxy.line(.init(time: t, protocolName: proto, urlStem: "/owa/auth/x.js",
                                                  anchor: "ServerInfo~localhost/owa/auth/x.js?#",
                                                  userAgent: "Mozilla/5.0 zgrab/0.x", clientIP: client,
                                                  status: 500, routingHint: "X-AnonResource-Backend-Cookie"), rng: &rng)
                } else if n % 20_000 == 0 {
                    text += HttpProxy.line(.init(time: t, protocolName: proto, urlStem: "/ecp/y.js",
                                                  anchor: "ServerInfo~a]@EXCH01.corp.local:444/ecp/proxyLogon.ecp?#",
                                                  userAgent: "python-requests/2.25.1", clientIP: "165.232.154.116", status: 241,
                                                  routingHint: "X-BEResource-Cookie"), rng: &rng)
                } else {
                    text += HttpProxy.line(HttpProxy.ordinary(time: t, protocolName: proto, rng: &rng), rng: &rng)
                }
            }
            try Data(text.utf8).write(to: dir.appendingPathComponent(name))
            written += text.utf8.count
            hour += 1
        }
        print("wrote \(written >> 20) MiB in \(hour) files under \(out)")
    }
}

enum Fmt {
    static func iso(_ d: Date) -> String { ISOTime.string(d) }
    static func utc(_ d: Date, _ format: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = format
        return f.string(from: d)
    }
    static func fileHour(_ d: Date) -> String { utc(d, "yyyyMMddHH") }
    /// A GUID-shaped string derived from its inputs, so samples regenerate byte for byte.
    static func guid(_ d: Date, _ salt: String) -> String {
        var h: UInt64 = 1469598103934665603
        for b in (salt + String(d.timeIntervalSince1970)).utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        let x = String(format: "%016llx", h), y = String(format: "%016llx", h &* 31)
        let a = Array(x + y)
        return String(a[0..<8]) + "-" + String(a[8..<12]) + "-4" + String(a[13..<16]) + "-a" + String(a[17..<20]) + "-" + String(a[20..<32])
    }
    static func day(_ s: String) -> Date { ISO8601DateFormatter().date(from: s + "T00:00:00Z")! }
    static func at(_ s: String) -> Date {
        let f = ISO8601DateFormatter()
        if s.contains(".") { f.formatOptions = [.withInternetDateTime, .withFractionalSeconds] }
        return f.date(from: s)!
    }
}
