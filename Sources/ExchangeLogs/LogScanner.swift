public import Foundation
public import HuntCore

/// Reads one text log, chunk by chunk, and hands back the lines worth a closer look.
///
/// The caller drives: it `feed`s bytes as it reads them (any chunk size) and calls `finish` at
/// the end. Every line is counted and directive lines update the column header, but only
/// *candidate* lines (those containing one of the literals, or every data line when there are
/// none) are split into fields and passed to `emit`. Malformed input never stops the scan: it
/// becomes a located `Problem`, the first of each kind kept with a count of the rest.
/// Memory is bounded by the chunk size plus `maxLineLength`.
public struct LogScanner {
    /// A candidate line, split into named fields.
    public struct Line {
        public var number: Int
        public var offset: UInt64
        public var timestamp: Date?
        public var fields: [(name: String, value: String)]
        public var raw: String
    }

    public let format: LogFormat
    public let path: String
    public let maxLineLength: Int
    private let finders: LiteralSet?

    public private(set) var lines = 0
    public private(set) var dataLines = 0
    public private(set) var earliest: Date?
    public private(set) var latest: Date?
    /// The `#Software`/`#Version`/`#Log-type` directives seen, last value wins.
    public private(set) var directives: [String: String] = [:]
    /// The hours (since 1970, UTC) in which data lines were written, in the order first seen,
    /// so coverage gaps inside a file show. Only for logs whose timestamp is the first column.
    public private(set) var hours: [Int32] = []
    /// A file has at most this many distinct hours (11 years); timestamps beyond are not kept.
    public static let maxHours = 100_000

    private var header: [String] = []
    private var lowerHeader: [String] = []
    private var timestampColumns: [Int] = []
    private var carry: [UInt8] = []
    private var skippingOverlong = false
    private var consumed: UInt64 = 0
    private var sawFirstData = false
    private var triedDefaultLayout = false
    /// An IIS FTP site's log (`FTPSVC<n>`): headerless data is read with FTP's default fields.
    public var ftp = false
    private var splitScratch: [FieldSplitter.Field] = []
    private var problemLog = ProblemLog()
    /// The first 13 bytes (`2021-03-03T05`, `2021-03-03 05`) of the last line whose hour was
    /// taken: a line with the same start is in the same hour, and costs no timestamp parse.
    private var hourKey: (UInt64, UInt64) = (0, 0)
    /// Whether each data line starts with its timestamp (decided with the header, not per line).
    private var timestampLeads = false
    /// IIS writes `-` for an empty field in every format of its own.
    private var dashIsEmpty: Bool { format == .w3c || isLegacyIIS }
    /// IIS native or NCSA: fixed fields, the time mid-line (decided once, not per line).
    private let isLegacyIIS: Bool

    /// - Parameters:
    ///   - literals: candidate filter; a line is emitted if it contains any of them (ASCII case
    ///     ignored). `nil` emits every data line; an empty array emits none.
    ///   - maxLineLength: longer lines are skipped with a `line-too-long` problem.
    private let addressFinder: AddressFinder?
    /// Lowercased names of the fields to decode; nil decodes every field. Unwanted columns are
    /// skipped, which matters when many rules make most lines candidates.
    public var wantedFields: Set<String>?
    /// Lowercased names of fields that name the server (`serverhostname`, `s-computername`),
    /// read from the first data line into `identity`.
    public var identityFields: [String] = []
    /// The identity fields' values on the first data line, by lowercased name.
    public private(set) var identity: [String: String] = [:]
    /// Lowercased names of the field that holds the client's address (`clientipaddress`, `c-ip`):
    /// every data line's value is counted into `clients`, for matching indicators learned later.
    public var clientFields: [String] = []
    /// At most this many distinct client addresses per file; further ones are counted in `clientsDropped`.
    public static let maxClients = 100_000
    private var clients = ClientTable(limit: LogScanner.maxClients)
    public var clientsDropped: Int { clients.dropped }
    private var clientColumn: Int?
    /// The last line's client, counted into `clients` when another client comes (most lines
    /// repeat the previous line's client; this spares them a hash lookup). Its capacity is kept.
    private var lastClient: [UInt8] = []
    private var lastClientValid = false
    private var lastClientLines = 0
    private var lastClientFirstHour: Int32?
    private var lastClientHour: Int32?

    /// - Parameter addresses: IPv4 addresses that also make a line a candidate, as whole tokens.
    public init(format: LogFormat, path: String, literals: [String]?, addresses: [String] = [], maxLineLength: Int = 16 << 20) {
        self.format = format
        self.path = path
        self.maxLineLength = maxLineLength
        self.finders = literals.map(LiteralSet.init)
        // Until a header says otherwise, a line's timestamp is its first column (as timestamp() reads it).
        self.isLegacyIIS = LegacyIISFormat.fields(of: format) != nil
        self.timestampLeads = format != .text && !isLegacyIIS
        let a = AddressFinder(addresses)
        self.addressFinder = a.isEmpty ? nil : a
    }

    /// Problems found so far, one per kind with a count of the repeats.
    public var problems: [Problem] { problemLog.problems }

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (Line) -> Void) {
        guard let raw = chunk.baseAddress, chunk.count > 0 else { return }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let count = chunk.count
        var p = 0
        if skippingOverlong || !carry.isEmpty {
            guard let nl = Self.indexOfNewline(base, 0, count) else {
                if skippingOverlong { consumed += UInt64(count); return }
                carry.append(contentsOf: UnsafeBufferPointer(start: base, count: count))
                checkCarryLength()
                return
            }
            if skippingOverlong {
                skippingOverlong = false
                lines += 1
                consumed += UInt64(nl + 1)
            } else {
                carry.append(contentsOf: UnsafeBufferPointer(start: base, count: nl + 1))
                flushCarry(emit: emit)
            }
            p = nl + 1
        }
        if p < count, let lastNL = Self.lastIndexOfNewline(base, p, count) {
            processBlock(base + p, count: lastNL - p + 1, blockOffset: consumed, emit: emit)
            consumed += UInt64(lastNL - p + 1)
            p = lastNL + 1
        }
        if p < count {
            carry.append(contentsOf: UnsafeBufferPointer(start: base + p, count: count - p))
            checkCarryLength()
        }
    }

    public mutating func feed(_ bytes: [UInt8], emit: (Line) -> Void) {
        bytes.withUnsafeBytes { feed($0, emit: emit) }
    }

    /// Processes a last line that has no line end.
    public mutating func finish(emit: (Line) -> Void) {
        guard !carry.isEmpty else { return }
        let onlySpace = carry.allSatisfy { $0 == 0x20 || $0 == 0x0D || $0 == 0x09 || $0 == 0 }
        if !onlySpace {
            problemLog.add(.warning, "truncated-last-line",
                           "last line has no line end; the file may have been copied while being written",
                           path: path, line: lines + 1, offset: consumed)
        }
        flushCarry(emit: emit)
    }

    // MARK: - Blocks

    private mutating func flushCarry(emit: (Line) -> Void) {
        var block = carry
        carry.removeAll(keepingCapacity: true)
        block.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            processBlock(UnsafePointer(base), count: buf.count, blockOffset: consumed, emit: emit)
        }
        consumed += UInt64(block.count)
        block.removeAll()
    }

    private mutating func checkCarryLength() {
        guard carry.count > maxLineLength else { return }
        problemLog.add(.warning, "line-too-long",
                       "line longer than \(maxLineLength) bytes skipped", path: path, line: lines + 1, offset: consumed)
        consumed += UInt64(carry.count)
        carry.removeAll()
        skippingOverlong = true
    }

    /// `base[0..<count]` holds whole lines; the last may lack its line end only from `finish`.
    private mutating func processBlock(_ base: UnsafePointer<UInt8>, count: Int, blockOffset: UInt64, emit: (Line) -> Void) {
        var candidates: [Int] = []
        if let finders {
            finders.forEachMatch(in: base, count: count) { start in
                candidates.append(Self.lineStart(base, before: start))
                return (Self.indexOfNewline(base, start, count) ?? count) + 1
            }
            if let addressFinder {
                addressFinder.forEachMatch(in: base, count: count) { start in
                    candidates.append(Self.lineStart(base, before: start))
                    return (Self.indexOfNewline(base, start, count) ?? count) + 1
                }
            }
            if finders.groups.count > 1 || addressFinder != nil { candidates.sort() }
        }
        var nextCandidate = 0
        var lastData: Range<Int>?
        var pos = 0
        while pos < count {
            let nl = Self.indexOfNewline(base, pos, count) ?? count
            var end = nl
            if end > pos, base[end - 1] == 0x0D { end -= 1 }
            lines += 1
            while nextCandidate < candidates.count, candidates[nextCandidate] < pos { nextCandidate += 1 }
            let isCandidate = finders == nil || (nextCandidate < candidates.count && candidates[nextCandidate] == pos)
            if handleLine(base, pos..<end, offset: blockOffset + UInt64(pos), candidate: isCandidate, emit: emit) {
                lastData = pos..<end
            }
            pos = nl + 1
        }
        if let lastData, let ts = timestamp(base, lastData) { note(ts) }
    }

    /// Returns true for a data line.
    private mutating func handleLine(_ base: UnsafePointer<UInt8>, _ range0: Range<Int>, offset: UInt64,
                                     candidate: Bool, emit: (Line) -> Void) -> Bool {
        var range = range0
        if lines == 1, range.count >= 3, base[range.lowerBound] == 0xEF, base[range.lowerBound + 1] == 0xBB,
           base[range.lowerBound + 2] == 0xBF {
            range = range.lowerBound + 3..<range.upperBound
        }
        guard !range.isEmpty else { return false }
        let first = base[range.lowerBound]
        if header.isEmpty, let fixed = LegacyIISFormat.fields(of: format) {
            setHeader(fixed)
            if format == .iisNative {
                problemLog.add(.warning, "local-time",
                               "IIS native format writes the server's local time without its zone: its times are read as UTC "
                               + "and are off by the server's UTC offset", path: path, line: lines, offset: offset)
            }
        }
        if format != .text {
            if first == UInt8(ascii: "#") {
                directive(base, range)
                return false
            }
            if case .exchangeCSV = format, !(48...57).contains(first), bareHeader(base, range) {
                return false
            }
            if header.isEmpty, !triedDefaultLayout, (48...57).contains(first) {
                // Once per file: the first data line decides.
                triedDefaultLayout = true
                let line = String(decoding: UnsafeBufferPointer(start: base + range.lowerBound, count: range.count), as: UTF8.self)
                if format == .w3c, let layout = ftp ? LogFormat.defaultFTPLayout : LogFormat.headerlessW3CLayout(line) {
                    setHeader(layout)
                    problemLog.add(.warning, "assumed-fields",
                                   "W3C data without a #Fields line: read with IIS's default \(ftp ? "FTP " : "")fields (\(layout.joined(separator: " ")))",
                                   path: path, line: lines, offset: offset)
                } else if case .exchangeCSV(let logType) = format, let layout = LogFormat.headerlessExchangeLayout(line, logType: logType) {
                    setHeader(layout.fields)
                    problemLog.add(.warning, "assumed-fields",
                                   "CSV data without a header: read with the \(layout.logType) schema of \(layout.fields.count) columns, "
                                   + "as its folder or its column count says",
                                   path: path, line: lines, offset: offset)
                }
            }
        }
        dataLines += 1
        noteHour(base, range)
        if let clientColumn { noteClient(base, range, clientColumn) }
        if !sawFirstData {
            sawFirstData = true
            if let ts = timestamp(base, range) { note(ts) }
            if !identityFields.isEmpty { captureIdentity(base, range) }
        }
        guard candidate else { return true }
        emit(makeLine(base, range, offset: offset))
        return true
    }

    private mutating func makeLine(_ base: UnsafePointer<UInt8>, _ range: Range<Int>, offset: UInt64) -> Line {
        var fields: [(name: String, value: String)] = []
        switch format {
        case .text:
            fields = [("Message", decode(base, range, quoted: false))]
        case .exchangeCSV:
            let complete = FieldSplitter.csv(base, range, into: &splitScratch).complete
            if !complete {
                problemLog.add(.warning, "unterminated-quote", "a quoted field runs to the end of the line",
                               path: path, line: lines, offset: offset)
            }
            fields = named(base)
        case .w3c:
            FieldSplitter.w3c(base, range, into: &splitScratch)
            fields = named(base)
        case .firewall:
            fields = [("Message", decode(base, range, quoted: false))]
        case .iisNative, .ncsa:
            if splitLegacy(base, range) {
                fields = named(base)
            } else {
                problemLog.add(.warning, "malformed-line", "a line without the fields of its format; read as one message",
                               path: path, line: lines, offset: offset)
                fields = [("Message", decode(base, range, quoted: false))]
            }
        }
        let ts = timestamp(base, range)
        if let ts { note(ts) }
        return Line(number: lines, offset: offset, timestamp: ts, fields: fields, raw: decode(base, range, quoted: false))
    }

    private mutating func named(_ base: UnsafePointer<UInt8>) -> [(name: String, value: String)] {
        if header.isEmpty {
            problemLog.add(.warning, "no-header", "data line before any #Fields or header line; fields are unnamed",
                           path: path, line: lines)
        } else if splitScratch.count > header.count {
            problemLog.add(.warning, "field-count",
                           "line has \(splitScratch.count) fields, header has \(header.count); extra fields ignored",
                           path: path, line: lines)
        }
        var out: [(name: String, value: String)] = []
        out.reserveCapacity(wantedFields?.count ?? splitScratch.count)
        for (i, f) in splitScratch.enumerated() {
            if let wanted = wantedFields, !(i < lowerHeader.count && wanted.contains(lowerHeader[i])) { continue }
            let name = i < header.count ? header[i] : "Field\(i + 1)"
            var value = decode(base, f.range, quoted: f.quoted)
            if dashIsEmpty, value == "-" { value = "" }
            out.append((name, value))
        }
        return out
    }

    private mutating func decode(_ base: UnsafePointer<UInt8>, _ range: Range<Int>, quoted: Bool) -> String {
        let bytes = UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
        var s: String
        if let valid = String(validating: bytes, as: UTF8.self) {
            s = valid
        } else {
            problemLog.add(.warning, "invalid-utf8", "bytes that are not UTF-8 were replaced with U+FFFD",
                           path: path, line: lines)
            s = String(decoding: bytes, as: UTF8.self)
        }
        if quoted, s.contains("\"\"") { s = s.replacingOccurrences(of: "\"\"", with: "\"") }
        return s
    }

    // MARK: - Headers and timestamps

    private mutating func directive(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) {
        let text = decode(base, range, quoted: false)
        guard let colon = text.firstIndex(of: ":") else { return }
        let key = text[text.index(after: text.startIndex)..<colon].lowercased()
        let value = text[text.index(after: colon)...].trimmingSpaces()
        guard key == "fields" else {
            directives[key] = value
            return
        }
        if format == .w3c {
            setHeader(value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
        } else {
            setHeader(value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() })
        }
    }

    /// A bare CSV header line (Exchange writes one before the directives); also accepted mid-file,
    /// where concatenated logs repeat it.
    private mutating func bareHeader(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) -> Bool {
        let probe = range.lowerBound..<min(range.upperBound, range.lowerBound + 14)
        // Export-Csv quotes every column name.
        let start = String(decoding: UnsafeBufferPointer(start: base + probe.lowerBound, count: probe.count), as: UTF8.self)
            .lowercased().replacingOccurrences(of: "\"", with: "")
        guard LogFormat.bareHeaderTimestampColumns.contains(where: { start.hasPrefix($0 + ",") }) else { return false }
        _ = FieldSplitter.csv(base, range, into: &splitScratch)
        setHeader(splitScratch.map { decode(base, $0.range, quoted: $0.quoted).trimmingSpaces() })
        return true
    }

    private mutating func setHeader(_ names: [String]) {
        header = names
        let lower = names.map { $0.lowercased() }
        lowerHeader = lower
        clientColumn = clientFields.lazy.compactMap { lower.firstIndex(of: $0) }.first
        switch format {
        case .w3c:
            timestampColumns = [lower.firstIndex(of: "date"), lower.firstIndex(of: "time")].compactMap { $0 }
            if timestampColumns.count != 2 { timestampColumns = [] }
            timestampLeads = timestampColumns.isEmpty || timestampColumns == [0, 1]
            if timestampColumns.isEmpty {
                // Logging can be set up without date and time: what the lines hold is still read.
                problemLog.add(.warning, "no-times", "its #Fields name no date and time: its lines are read without times",
                               path: path, line: lines)
            }
        case .iisNative, .ncsa:
            // Their times are split out of fixed fields, line by line.
            timestampColumns = []
            timestampLeads = false
        default:
            if let i = lower.firstIndex(where: { ["datetime", "timestamp", "date-time"].contains($0) }) {
                timestampColumns = [i]
            } else {
                timestampColumns = []
            }
            timestampLeads = format != .text && (timestampColumns.first ?? 0) == 0
        }
    }

    private mutating func timestamp(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) -> Date? {
        let buf = UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
        switch format {
        case .text, .firewall:
            return Timestamp.find(in: buf)
        case .exchangeCSV:
            let column = timestampColumns.first ?? 0
            if column == 0 {
                // Export-Csv quotes every value.
                let skip = buf.first == UInt8(ascii: "\"") ? 1 : 0
                return Timestamp.parse(UnsafeBufferPointer(rebasing: buf[skip...]))
            }
            _ = FieldSplitter.csv(base, range, into: &splitScratch)
            guard column < splitScratch.count else { return nil }
            let r = splitScratch[column].range
            return Timestamp.parse(UnsafeBufferPointer(start: base + r.lowerBound, count: r.count))
        case .w3c:
            // `date time` are the first two columns in every IIS configuration seen; otherwise split.
            if timestampLeads { return Timestamp.parse(buf) }
            FieldSplitter.w3c(base, range, into: &splitScratch)
            guard timestampColumns.allSatisfy({ $0 < splitScratch.count }) else { return nil }
            let d = splitScratch[timestampColumns[0]].range, t = splitScratch[timestampColumns[1]].range
            let joined = Array(UnsafeBufferPointer(start: base + d.lowerBound, count: d.count)) + [0x20]
                + Array(UnsafeBufferPointer(start: base + t.lowerBound, count: t.count))
            return Timestamp.parse(joined)
        case .iisNative:
            guard LegacyIISFormat.splitNative(base, range, into: &splitScratch), splitScratch.count > 3 else { return nil }
            return LegacyIISFormat.nativeTime(base, date: splitScratch[2].range, time: splitScratch[3].range)
        case .ncsa:
            guard LegacyIISFormat.splitNCSA(base, range, into: &splitScratch), splitScratch.count > 3 else { return nil }
            return LegacyIISFormat.ncsaTime(base, splitScratch[3].range)
        }
    }

    /// Splits a line of IIS's native or NCSA format into `splitScratch`; false when it has not the shape.
    private mutating func splitLegacy(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) -> Bool {
        switch format {
        case .iisNative: LegacyIISFormat.splitNative(base, range, into: &splitScratch)
        case .ncsa: LegacyIISFormat.splitNCSA(base, range, into: &splitScratch)
        default: false
        }
    }

    /// The Exchange build that wrote the file (`#Software: Microsoft Exchange Server`,
    /// `#Version: 15.01.2176.002`), as written; nil for IIS and other software.
    public var exchangeBuild: String? {
        guard let software = directives["software"], software.lowercased().contains("exchange"),
              let version = directives["version"], !version.isEmpty else { return nil }
        return version
    }

    private mutating func captureIdentity(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) {
        let columns = identityFields.compactMap { f in lowerHeader.firstIndex(of: f).map { (f, $0) } }
        guard !columns.isEmpty else { return }
        switch format {
        case .exchangeCSV: _ = FieldSplitter.csv(base, range, into: &splitScratch)
        case .w3c: FieldSplitter.w3c(base, range, into: &splitScratch)
        case .iisNative, .ncsa: guard splitLegacy(base, range) else { return }
        case .text, .firewall: return
        }
        for (name, i) in columns where i < splitScratch.count {
            let f = splitScratch[i]
            let value = decode(base, f.range, quoted: f.quoted).trimmingSpaces()
            if !value.isEmpty, value != "-" { identity[name] = value }
        }
    }

    private mutating func noteHour(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) {
        guard hours.count < Self.maxHours else { return }
        if !timestampLeads {
            // IIS's older formats: their time is mid-line, so each line's is parsed (they are rare and small).
            if isLegacyIIS, let ts = timestamp(base, range) { noteHour(of: ts) }
            return
        }
        var start = range.lowerBound
        if base[start] == UInt8(ascii: "\"") { start += 1 }
        guard range.upperBound - start >= 13 else { return }
        let raw = UnsafeRawPointer(base + start)
        let key = (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 5, as: UInt64.self))
        guard key != hourKey else { return }
        hourKey = key
        guard let ts = timestamp(base, range) else { return }
        noteHour(of: ts)
    }

    private mutating func noteHour(of ts: Date) {
        let h = (ts.timeIntervalSince1970 / 3600).rounded(.down)
        guard h.isFinite, abs(h) < 2e9 else { return }
        let hour = Int32(h)
        if hours.last != hour { hours.append(hour) }
    }

    /// Counts the client address in column `column` of a data line.
    private mutating func noteClient(_ base: UnsafePointer<UInt8>, _ range: Range<Int>, _ column: Int) {
        let csv: Bool
        switch format {
        case .exchangeCSV, .iisNative: csv = true
        default: csv = false
        }
        guard var field = Self.quickField(base, range, column, csv: csv) else { return }
        // IIS native puts a space after each comma.
        while field.lowerBound < field.upperBound, base[field.lowerBound] == 0x20 { field = field.lowerBound + 1..<field.upperBound }
        guard field.count >= 2, field.count <= ClientTable.maxKeyLength else { return }
        let hour = timestampLeads || isLegacyIIS ? hours.last : nil
        let bytes = UnsafeBufferPointer(start: base + field.lowerBound, count: field.count)
        if lastClient.count == field.count,
           lastClient.withUnsafeBufferPointer({ b in b.baseAddress.map { memcmp($0, base + field.lowerBound, field.count) == 0 } ?? false }) {
            guard lastClientValid else { return }
            lastClientLines += 1
            if hour != nil { lastClientHour = hour }
            return
        }
        flushClient()
        lastClient.removeAll(keepingCapacity: true)
        lastClient.append(contentsOf: bytes)
        // Only what looks like an address (IPv4, IPv6, with a port or brackets) is kept.
        lastClientValid = bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x3A) || $0 == 0x2E || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) || $0 == 0x5B || $0 == 0x5D }
        lastClientLines = lastClientValid ? 1 : 0
        lastClientFirstHour = hour
        lastClientHour = hour
    }

    private mutating func flushClient() {
        guard lastClientValid, lastClientLines > 0 else { return }
        lastClient.withUnsafeBufferPointer { clients.add($0, lines: lastClientLines, first: lastClientFirstHour, last: lastClientHour) }
        lastClientLines = 0
    }

    /// The client addresses counted so far.
    public mutating func clientAddresses() -> [String: ClientCount] {
        flushClient()
        lastClientValid = false
        lastClient = []
        return clients.counts()
    }

    /// `field` for the common line: separators found sixteen bytes at a time; a CSV line with a
    /// quote before the field is handed to `field`, which reads quotes exactly.
    static func quickField(_ base: UnsafePointer<UInt8>, _ range: Range<Int>, _ column: Int, csv: Bool) -> Range<Int>? {
        let separator: UInt8 = csv ? 0x2C : 0x20
        let separators = SIMD16<UInt8>(repeating: separator)
        let quotes = SIMD16<UInt8>(repeating: 0x22)
        let raw = UnsafeRawPointer(base)
        var passed = 0
        var fieldStart = range.lowerBound
        var i = range.lowerBound
        while range.upperBound - i >= 16 {
            let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            if csv {
                let q = unsafeBitCast(v .== quotes, to: SIMD2<UInt64>.self)
                if q[0] | q[1] != 0 { return field(base, range, column, csv: csv) }
            }
            // Each matching byte is 0xFF: its high bit marks the separator, eight per word.
            let words = unsafeBitCast(v .== separators, to: SIMD2<UInt64>.self)
            for half in 0..<2 {
                var found = UInt64(littleEndian: words[half]) & 0x8080_8080_8080_8080
                while found != 0 {
                    let at = i + half * 8 + found.trailingZeroBitCount >> 3
                    if passed == column { return fieldStart..<at }
                    passed += 1
                    fieldStart = at + 1
                    found &= found &- 1
                }
            }
            i += 16
        }
        while i < range.upperBound {
            let b = base[i]
            if csv, b == 0x22 { return field(base, range, column, csv: csv) }
            if b == separator {
                if passed == column { return fieldStart..<i }
                passed += 1
                fieldStart = i + 1
            }
            i += 1
        }
        return passed == column ? fieldStart..<range.upperBound : nil
    }

    /// The bytes of field `column` (0-based) of a line: space-separated for W3C, CSV with quotes
    /// otherwise (a quoted field's bytes without its quotes).
    static func field(_ base: UnsafePointer<UInt8>, _ range: Range<Int>, _ column: Int, csv: Bool) -> Range<Int>? {
        var i = range.lowerBound
        var n = 0
        let sep: UInt8 = csv ? 0x2C : 0x20
        while i <= range.upperBound {
            var start = i
            var end: Int
            if csv, i < range.upperBound, base[i] == 0x22 {
                // Quoted: runs to the closing quote ("" inside is an escaped quote).
                start = i + 1
                var j = start
                while j < range.upperBound {
                    if base[j] == 0x22 {
                        if j + 1 < range.upperBound, base[j + 1] == 0x22 { j += 2; continue }
                        break
                    }
                    j += 1
                }
                end = j
                i = j + 1
                while i < range.upperBound, base[i] != sep { i += 1 }
            } else {
                while i < range.upperBound, base[i] != sep { i += 1 }
                end = i
            }
            if n == column { return start..<end }
            n += 1
            i += 1
        }
        return nil
    }

    private mutating func note(_ ts: Date) {
        if earliest.map({ ts < $0 }) ?? true { earliest = ts }
        if latest.map({ ts > $0 }) ?? true { latest = ts }
    }

    // MARK: - Byte helpers

    @inline(__always)
    static func indexOfNewline(_ base: UnsafePointer<UInt8>, _ from: Int, _ count: Int) -> Int? {
        guard from < count, let p = memchr(base + from, 0x0A, count - from) else { return nil }
        return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }

    static func lastIndexOfNewline(_ base: UnsafePointer<UInt8>, _ from: Int, _ count: Int) -> Int? {
        var i = count - 1
        while i >= from {
            if base[i] == 0x0A { return i }
            i -= 1
        }
        return nil
    }

    static func lineStart(_ base: UnsafePointer<UInt8>, before i: Int) -> Int {
        var j = i
        while j > 0, base[j - 1] != 0x0A { j -= 1 }
        return j
    }
}

/// Keeps the first problem of each kind and counts the repeats, so a file with a million bad
/// lines yields one located problem, not a million.
struct ProblemLog {
    private var order: [String] = []
    private var first: [String: Problem] = [:]
    private var counts: [String: Int] = [:]

    mutating func add(_ level: Problem.Level, _ code: String, _ message: String, path: String?, line: Int? = nil, offset: UInt64? = nil) {
        if first[code] == nil {
            order.append(code)
            first[code] = Problem(level, code: code, message: message, path: path, line: line, offset: offset)
        }
        counts[code, default: 0] += 1
    }

    var problems: [Problem] {
        order.compactMap { code in
            guard var p = first[code] else { return nil }
            let n = counts[code] ?? 1
            if n > 1 { p.message += " (first of \(n) occurrences in this file)" }
            return p
        }
    }
}
