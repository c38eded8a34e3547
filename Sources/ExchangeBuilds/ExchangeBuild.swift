/// A four-part Exchange file version (`15.1.2176.9`). Parses the zero-padded form Microsoft's
/// tables and `ExSetup.exe` use (`15.01.2176.009`) to the same value.
public struct ExchangeBuild: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var build: Int
    public var revision: Int

    public init(_ major: Int, _ minor: Int, _ build: Int, _ revision: Int) {
        (self.major, self.minor, self.build, self.revision) = (major, minor, build, revision)
    }

    /// Four parts, or nil. Numbers above 99,999 are refused: they are not Exchange builds and
    /// would only come from hostile input.
    public init?(_ text: some StringProtocol) {
        guard let parts = Self.parts(text), parts.count == 4 else { return nil }
        self.init(parts[0], parts[1], parts[2], parts[3])
    }

    /// Three or four dot-separated small numbers.
    static func parts(_ text: some StringProtocol) -> [Int]? {
        let fields = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (3...4).contains(fields.count) else { return nil }
        var out: [Int] = []
        for f in fields {
            guard !f.isEmpty, f.count <= 5, f.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(f) else { return nil }
            out.append(n)
        }
        return out
    }

    public var description: String { "\(major).\(minor).\(build).\(revision)" }
    /// The CU level: every update of one cumulative update shares it.
    public var cuLevel: CULevel { CULevel(major: major, minor: minor, build: build) }

    public static func < (a: Self, b: Self) -> Bool {
        (a.major, a.minor, a.build, a.revision) < (b.major, b.minor, b.build, b.revision)
    }
}

/// The first three parts of a build: what OWA's `/owa/auth/<x.y.z>/` resource paths reveal.
public struct CULevel: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var build: Int

    public init(major: Int, minor: Int, build: Int) { (self.major, self.minor, self.build) = (major, minor, build) }

    public init?(_ text: some StringProtocol) {
        guard let p = ExchangeBuild.parts(text), p.count == 3 else { return nil }
        self.init(major: p[0], minor: p[1], build: p[2])
    }

    public var description: String { "\(major).\(minor).\(build)" }
    public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor, a.build) < (b.major, b.minor, b.build) }
}
