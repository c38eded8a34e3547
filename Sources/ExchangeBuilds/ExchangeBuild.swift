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
        // Bytes, not Characters: survey responses parse this thousands of times a second.
        var out: [Int] = []
        out.reserveCapacity(4)
        var value = 0, digits = 0
        for b in text.utf8 {
            if b == UInt8(ascii: ".") {
                guard digits > 0, out.count < 3 else { return nil }
                out.append(value)
                (value, digits) = (0, 0)
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                guard digits < 5 else { return nil }
                value = value * 10 + Int(b - UInt8(ascii: "0"))
                digits += 1
            } else {
                return nil
            }
        }
        guard digits > 0 else { return nil }
        out.append(value)
        return out.count >= 3 ? out : nil
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
