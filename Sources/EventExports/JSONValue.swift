/// One exported record's values: JSON as read from its bytes (and event XML as the evtx crate
/// would write it in JSON). A value type of our own rather than Foundation's `Any` tree: asking
/// `Any` what it holds bridges Swift values to Foundation classes, and reading records through
/// JSONSerialization and `Any` took more time than matching them against every Sigma rule.
enum JSONValue: Sendable {
    case string(String)
    /// The number's text as the record wrote it (integers keep every digit).
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    var object: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    var isNull: Bool { if case .null = self { true } else { false } }
}

/// Why bytes are not one JSON value, with the byte offset.
struct JSONSyntaxError: Error, CustomStringConvertible {
    var message: String
    var offset: Int
    var description: String { "\(message) at byte \(offset)" }
}

/// Parses one JSON text (RFC 8259) from bytes into a `JSONValue`. Bounded: at most `maxDepth`
/// levels (a record's size is bounded by the splitter before it gets here); every index checked.
struct JSONParser {
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var i = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<JSONValue, JSONSyntaxError> {
        var p = JSONParser(bytes)
        do {
            p.skipSpace()
            // A UTF-8 byte order mark before the value is allowed, as JSONSerialization does.
            if p.peek(0) == 0xEF, p.peek(1) == 0xBB, p.peek(2) == 0xBF { p.i += 3; p.skipSpace() }
            let v = try p.value(depth: 0)
            p.skipSpace()
            guard p.i == bytes.count else { throw p.error("garbage after the value") }
            return .success(v)
        } catch let e as JSONSyntaxError {
            return .failure(e)
        } catch {
            return .failure(JSONSyntaxError(message: "\(error)", offset: p.i))
        }
    }

    private func peek(_ ahead: Int) -> UInt8? {
        let j = i + ahead
        return j < bytes.count ? bytes[j] : nil
    }

    private func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(message: message, offset: i) }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nested more than \(Self.maxDepth) deep") }
        guard let b = peek(0) else { throw error("unexpected end") }
        switch b {
        case 0x7B: return try objectValue(depth: depth)
        case 0x5B: return try arrayValue(depth: depth)
        case 0x22: return .string(try stringValue())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        case 0x2D, 0x30...0x39: return .number(try numberText())
        default: throw error("unexpected character")
        }
    }

    private mutating func literal(_ word: String) throws {
        var k = i
        for b in word.utf8 {
            guard k < bytes.count, bytes[k] == b else { throw error("expected \(word)") }
            k += 1
        }
        i = k
    }

    private mutating func objectValue(depth: Int) throws -> JSONValue {
        i += 1
        var out: [String: JSONValue] = [:]
        skipSpace()
        if peek(0) == 0x7D { i += 1; return .object(out) }
        while true {
            skipSpace()
            guard peek(0) == 0x22 else { throw error("a key must be a string") }
            let key = try stringValue()
            skipSpace()
            guard peek(0) == 0x3A else { throw error("expected ':'") }
            i += 1
            skipSpace()
            // The last of a repeated key wins, as in JSONSerialization.
            out[key] = try value(depth: depth + 1)
            skipSpace()
            switch peek(0) {
            case 0x2C: i += 1
            case 0x7D: i += 1; return .object(out)
            default: throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func arrayValue(depth: Int) throws -> JSONValue {
        i += 1
        var out: [JSONValue] = []
        skipSpace()
        if peek(0) == 0x5D { i += 1; return .array(out) }
        while true {
            skipSpace()
            out.append(try value(depth: depth + 1))
            skipSpace()
            switch peek(0) {
            case 0x2C: i += 1
            case 0x5D: i += 1; return .array(out)
            default: throw error("expected ',' or ']'")
            }
        }
    }

    private mutating func numberText() throws -> String {
        let start = i
        if peek(0) == 0x2D { i += 1 }
        guard let first = peek(0), (0x30...0x39).contains(first) else { throw error("a number without digits") }
        if first == 0x30 { i += 1 } else { while let d = peek(0), (0x30...0x39).contains(d) { i += 1 } }
        if peek(0) == 0x2E {
            i += 1
            guard let d = peek(0), (0x30...0x39).contains(d) else { throw error("a fraction without digits") }
            while let d = peek(0), (0x30...0x39).contains(d) { i += 1 }
        }
        if peek(0) == 0x65 || peek(0) == 0x45 {
            i += 1
            if peek(0) == 0x2B || peek(0) == 0x2D { i += 1 }
            guard let d = peek(0), (0x30...0x39).contains(d) else { throw error("an exponent without digits") }
            while let d = peek(0), (0x30...0x39).contains(d) { i += 1 }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    /// A string's value: escapes decoded (a lone surrogate becomes U+FFFD), bytes that are not
    /// UTF-8 repaired to U+FFFD, control characters refused as RFC 8259 says.
    private mutating func stringValue() throws -> String {
        i += 1
        let start = i
        // Fast path: no escape before the closing quote.
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x22 {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if b == 0x5C { break }
            if b < 0x20 { throw error("a control character in a string") }
            i += 1
        }
        var out = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case 0x22:
                i += 1
                return String(decoding: out, as: UTF8.self)
            case 0x5C:
                guard let e = peek(1) else { throw error("unexpected end") }
                i += 2
                switch e {
                case 0x22, 0x5C, 0x2F: out.append(e)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar), peek(0) == 0x5C, peek(1) == 0x75 {
                        let save = i
                        i += 2
                        let low = try hex4()
                        if (0xDC00...0xDFFF).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                        }
                    }
                    let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw error("an unknown escape")
                }
            default:
                if b < 0x20 { throw error("a control character in a string") }
                out.append(b)
                i += 1
            }
        }
        throw error("a string that never ends")
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("unexpected end") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw error("a bad \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}
