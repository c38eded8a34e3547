/// Where one record of an export begins: its number in the file (1-based), the line it starts on
/// and its byte offset.
public struct RecordPlace: Sendable, Hashable {
    public var number: Int
    public var line: Int
    public var offset: UInt64

    public init(number: Int, line: Int, offset: UInt64) {
        self.number = number
        self.line = line
        self.offset = offset
    }
}

/// Something wrong with an export at a place in it; the rest of the file is still read.
public struct ExportProblem: Sendable, Hashable, CustomStringConvertible {
    public var line: Int?
    public var offset: UInt64?
    public var message: String

    public init(line: Int?, offset: UInt64?, message: String) {
        self.line = line
        self.offset = offset
        self.message = message
    }

    public var description: String { message }

    /// A record (or event) left out whole, located at its start: `record 12 is cut off …; skipped`.
    static func skipped(_ what: String, _ place: RecordPlace, _ why: String) -> ExportProblem {
        ExportProblem(line: place.line, offset: place.offset, message: "\(what) \(place.number) \(why); skipped")
    }
}

/// Bounds that keep one hostile record from costing more than a little memory and time.
public struct ExportLimits: Sendable {
    /// The largest record kept for parsing; a larger one is skipped whole (its structure is still
    /// followed, so the records after it are found).
    public var recordBytes = 4 << 20
    /// The deepest nesting a record may have (Windows events are a few levels deep).
    public var depth = 64

    public init() {}
}

/// Splits a stream of JSON into records as its bytes arrive, without parsing them: JSON Lines,
/// concatenated objects, or the elements of one top-level array (`[{…},{…}]`, pretty-printed or
/// not). Only nesting, strings and escapes are followed, byte by byte, so a 10 GB export costs
/// one record's memory. A record too large or too deep is skipped with a located problem.
public struct JSONRecordSplitter {
    private let limits: ExportLimits
    /// Bytes of the record being gathered (empty when it is being skipped).
    private var record: [UInt8] = []
    private var place = RecordPlace(number: 0, line: 1, offset: 0)
    private var inRecord = false
    private var skipping: String?
    private var depth = 0
    private var maxDepth = 0
    private var inString = false
    private var escaped = false
    /// True inside a top-level array, whose elements are the records.
    private var wrapped = false
    private var offset: UInt64 = 0
    private var line = 1
    private var count = 0
    private var strayReported = false
    /// JSON Lines: the first record began and ended on one line, outside an array. From then on a
    /// line end inside a record (never valid JSON Lines) cuts that record off, so one broken line
    /// costs one record, not the rest of the file.
    private var lineMode: Bool?
    public private(set) var problems: [ExportProblem] = []

    public init(limits: ExportLimits = ExportLimits()) {
        self.limits = limits
    }

    /// Feeds bytes; `emit` gets each complete record's bytes (valid only during the call).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer, RecordPlace) -> Void) {
        guard let base = bytes.baseAddress else { return }
        let n = bytes.count
        var i = 0
        // Where this chunk's part of the current record begins.
        var start = 0
        while i < n {
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            if inRecord, b == 0x0A, lineMode == true {
                line += 1
                problems.append(.skipped("record", place, "is cut off at its line end"))
                inRecord = false
                inString = false
                escaped = false
                record.removeAll(keepingCapacity: true)
                i += 1
                offset += 1
                continue
            }
            if inRecord {
                if inString {
                    if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                    else if b == 0x0A { line += 1 }
                } else {
                    switch b {
                    case 0x22: inString = true
                    case 0x7B, 0x5B:
                        depth += 1
                        if depth > maxDepth { maxDepth = depth }
                        if depth > limits.depth, skipping == nil {
                            skipping = "nested deeper than \(limits.depth) levels"
                            record = []
                        }
                    case 0x7D, 0x5D:
                        depth -= 1
                        if depth == 0 {
                            i += 1
                            offset += 1
                            end(base, from: start, to: i, emit)
                            start = i
                            continue
                        }
                    case 0x0A: line += 1
                    default: break
                    }
                }
                i += 1
                offset += 1
                continue
            }
            // Between records.
            switch b {
            case 0x0A:
                line += 1
            case 0x20, 0x09, 0x0D, 0x2C:
                break
            case 0xEF, 0xBB, 0xBF where offset < 3:
                break  // a UTF-8 byte order mark
            case 0x5B where !wrapped:
                wrapped = true
            case 0x5D where wrapped:
                wrapped = false
            case 0x7B:
                count += 1
                place = RecordPlace(number: count, line: line, offset: offset)
                inRecord = true
                depth = 1
                maxDepth = 1
                skipping = nil
                record.removeAll(keepingCapacity: record.capacity <= limits.recordBytes)
                start = i
                i += 1
                offset += 1
                continue
            default:
                if !strayReported {
                    strayReported = true
                    problems.append(ExportProblem(line: line, offset: offset,
                                                  message: "text between records that is not a JSON object (byte 0x\(String(b, radix: 16))); skipped"))
                }
            }
            i += 1
            offset += 1
        }
        if inRecord, skipping == nil, start < n {
            append(base, from: start, to: n)
        }
    }

    /// The end of the stream: a record still open was cut off.
    public mutating func finish() {
        if inRecord {
            problems.append(.skipped("record", place, "is cut off at the end of the file"))
            inRecord = false
            record = []
        }
    }

    private mutating func append(_ base: UnsafeRawPointer, from: Int, to: Int) {
        guard skipping == nil else { return }
        if record.count + (to - from) > limits.recordBytes {
            skipping = "larger than \(limits.recordBytes >> 20) MiB"
            record = []
            return
        }
        record.append(contentsOf: UnsafeRawBufferPointer(start: base + from, count: to - from))
    }

    private mutating func end(_ base: UnsafeRawPointer, from: Int, to: Int, _ emit: (UnsafeRawBufferPointer, RecordPlace) -> Void) {
        inRecord = false
        inString = false
        escaped = false
        if lineMode == nil { lineMode = !wrapped && line == place.line }
        if record.isEmpty, skipping == nil, to - from <= limits.recordBytes {
            // The whole record lies in this chunk: no copy.
            emit(UnsafeRawBufferPointer(start: base + from, count: to - from), place)
            return
        }
        append(base, from: from, to: to)
        if let why = skipping {
            problems.append(.skipped("record", place, "is \(why)"))
            return
        }
        record.withUnsafeBytes { emit($0, place) }
        record.removeAll(keepingCapacity: true)
    }
}
