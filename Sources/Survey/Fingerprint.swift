public import ExchangeBuilds

/// A build number seen in a response, and where.
public struct BuildObservation: Sendable, Hashable {
    public enum Source: String, Sendable {
        /// `X-OWA-Version` response header: the running OWA build, four parts.
        case owaHeader = "x-owa-version"
        /// ECP export tool ClickOnce manifest: `<assemblyIdentity ... version="...">`, four parts.
        case exportTool = "exporttool"
        /// `/owa/auth/<version>/` resource paths on the logon page: usually the CU level only.
        case owaPath = "owa-path"
    }
    public var source: Source
    public var value: String
    public var build: ExchangeBuild?
    public var cuLevel: CULevel
}

/// Reads builds and Exchange markers out of response bytes. Everything here is attacker-controlled,
/// so it only looks at bounded windows and parses numbers strictly.
public enum Fingerprint {
    public static func owaHeader(_ r: ProbeResponse) -> BuildObservation? {
        guard let v = r.header("X-OWA-Version")?.trimmingASCIISpaces, v.utf8.count <= 32 else { return nil }
        if let b = ExchangeBuild(v) { return BuildObservation(source: .owaHeader, value: v, build: b, cuLevel: b.cuLevel) }
        return nil
    }

    public static func exportTool(_ body: [UInt8]) -> BuildObservation? {
        guard let tag = find(Array("<assemblyIdentity".utf8), in: body[...]) else { return nil }
        let element = body[tag..<min(body.count, tag + 1024)]
        guard let end = element.firstIndex(of: UInt8(ascii: ">")) else { return nil }
        let attrs = body[tag..<end]
        // `version="` preceded by a space, so `manifestVersion=` does not match.
        guard let at = find(Array(" version=\"".utf8), in: attrs) else { return nil }
        let start = at + 10
        guard let close = attrs[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        let v = String(decoding: body[start..<close], as: UTF8.self)
        guard let b = ExchangeBuild(v) else { return nil }
        return BuildObservation(source: .exportTool, value: v, build: b, cuLevel: b.cuLevel)
    }

    /// The highest version among the logon page's `/owa/auth/<x.y.z[.w]>/` paths (after upgrades
    /// several can be referenced).
    public static func owaPath(_ body: [UInt8]) -> BuildObservation? {
        let marker = Array("/owa/auth/".utf8)
        var best: BuildObservation?
        var from = body.startIndex
        while let at = find(marker, in: body[from...]) {
            var i = at + marker.count
            let start = i
            while i < body.count, i - start < 24, body[i] == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(body[i]) { i += 1 }
            from = at + marker.count
            guard i < body.count, body[i] == UInt8(ascii: "/"), i > start else { continue }
            let v = String(decoding: body[start..<i], as: UTF8.self)
            let obs: BuildObservation?
            if let b = ExchangeBuild(v) { obs = BuildObservation(source: .owaPath, value: v, build: b, cuLevel: b.cuLevel) }
            else if let l = CULevel(v) { obs = BuildObservation(source: .owaPath, value: v, build: nil, cuLevel: l) }
            else { obs = nil }
            if let o = obs, best.map({ o.cuLevel > $0.cuLevel || (o.cuLevel == $0.cuLevel && o.build != nil) }) ?? true { best = o }
        }
        return best
    }

    /// Signs that the answer came from Exchange's front end (OWA or ECP), not just any web server.
    public static func looksLikeExchange(_ r: ProbeResponse) -> Bool {
        if r.header("X-OWA-Version") != nil || r.header("X-FEServer") != nil || r.header("X-OWA-DiagnosticsInfo") != nil { return true }
        if let loc = r.header("Location"), loc.lowercased().contains("/owa/auth/logon.aspx") { return true }
        let window = r.body[..<min(r.body.count, 64 * 1024)]
        return find(Array("/owa/auth/".utf8), in: window) != nil
            || find(Array("<title>Outlook".utf8), in: window) != nil
    }

    /// An OWA logon form: what Exchange serves for many unknown paths, never a web shell.
    static func isLogonPage(_ body: [UInt8]) -> Bool {
        find(Array("logonForm".utf8), in: body[...]) != nil || find(Array("/owa/auth.owa".utf8), in: body[...]) != nil
    }

    static func find(_ needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard let first = needle.first, needle.count <= hay.count else { return nil }
        var i = hay.startIndex
        let last = hay.endIndex - needle.count
        while i <= last {
            guard let j = hay[i...last].firstIndex(of: first) else { return nil }
            if hay[j..<(j + needle.count)].elementsEqual(needle) { return j }
            i = j + 1
        }
        return nil
    }
}

extension String {
    var trimmingASCIISpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
