/// The two ways exported events are written down.
public enum ExportFormat: String, Sendable, Hashable {
    /// JSON Lines, concatenated objects, or one array of objects.
    case json
    /// Windows' event XML.
    case xml
}

/// What the first bytes of a file say about it as an export.
public enum ExportSniff: Sendable, Equatable {
    /// Windows events in this format; `utf16` when the file is UTF-16 with a byte order mark
    /// (what Windows PowerShell 5's `>` and `Out-File` write).
    case events(ExportFormat, utf16: UTF16Order?)
    /// JSON, but its first record is no Windows event in any known shape.
    case otherJSON(String)
}

public enum UTF16Order: Sendable, Hashable { case little, big }

extension ExportShapes {
    /// Decides from a file's first bytes whether it holds exported Windows events: JSON whose
    /// first record has a known shape, or XML with `<Event>` elements of Windows' schema. Nil for
    /// anything else (XML configuration files, logs, pages).
    public func sniff(_ head: [UInt8]) -> ExportSniff? {
        var order: UTF16Order?
        var text = head
        if head.starts(with: [0xFF, 0xFE]) { order = .little } else if head.starts(with: [0xFE, 0xFF]) { order = .big }
        if let order {
            var d = UTF16Transcoder(order)
            text = []
            head.withUnsafeBytes { d.feed($0) { text.append(contentsOf: $0) } }
        }
        var i = 0
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < text.count, [0x20, 0x09, 0x0D, 0x0A].contains(text[i]) { i += 1 }
        guard i < text.count else { return nil }
        switch text[i] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var splitter = JSONRecordSplitter()
            var verdict: ExportSniff?
            text.withUnsafeBytes { raw in
                splitter.feed(raw) { record, _ in
                    guard verdict == nil else { return }
                    switch event(json: record) {
                    case .success: verdict = .events(.json, utf16: order)
                    case .failure(let e): verdict = .otherJSON(e.description)
                    }
                }
            }
            if let verdict { return verdict }
            // A first record longer than the head: its keys decide.
            let s = String(decoding: text, as: UTF8.self)
            let markers = ["\"EventID\"", "\"event_id\"", "\"System\"", "\"winlog\"", "\"EventData\"", "\"Event\""]
            return markers.contains(where: s.contains) ? .events(.json, utf16: order) : .otherJSON("no Windows event keys in its first bytes")
        case UInt8(ascii: "<"):
            let s = String(decoding: text, as: UTF8.self)
            let element = ["<Event>", "<Event ", "<Event\n", "<Event\r", "<Event\t"].contains(where: s.contains)
            let schema = s.contains("schemas.microsoft.com/win/2004/08/events/event") || s.contains("<System>")
            return element && schema ? .events(.xml, utf16: order) : nil
        default:
            return nil
        }
    }
}

/// Splits an export of either format into records as its bytes arrive, UTF-16 transcoded first.
public struct ExportSplitter {
    private enum Inner {
        case json(JSONRecordSplitter)
        case xml(XMLEventSplitter)
    }
    private var inner: Inner
    private var utf16: UTF16Transcoder?
    public let format: ExportFormat

    public init(format: ExportFormat, utf16: UTF16Order? = nil, limits: ExportLimits = ExportLimits()) {
        self.format = format
        inner = format == .json ? .json(JSONRecordSplitter(limits: limits)) : .xml(XMLEventSplitter(limits: limits))
        self.utf16 = utf16.map(UTF16Transcoder.init)
    }

    /// Offsets are of the file's bytes, except in a UTF-16 file, where they are of its UTF-8 text.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer, RecordPlace) -> Void) {
        if var t = utf16 {
            t.feed(bytes) { feedText($0, emit) }
            utf16 = t
        } else {
            feedText(bytes, emit)
        }
    }

    private mutating func feedText(_ bytes: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer, RecordPlace) -> Void) {
        switch inner {
        case .json(var s): s.feed(bytes, emit); inner = .json(s)
        case .xml(var s): s.feed(bytes, emit); inner = .xml(s)
        }
    }

    public mutating func finish() {
        switch inner {
        case .json(var s): s.finish(); inner = .json(s)
        case .xml(var s): s.finish(); inner = .xml(s)
        }
    }

    public var problems: [ExportProblem] {
        switch inner {
        case .json(let s): s.problems
        case .xml(let s): s.problems
        }
    }

    /// Parses one record the splitter gave.
    public static func event(_ record: UnsafeRawBufferPointer, format: ExportFormat, shapes: ExportShapes) -> Result<ExportedEvent, ExportParseError> {
        format == .json ? shapes.event(json: record) : shapes.event(xml: record)
    }
}

/// UTF-16 to UTF-8 as bytes arrive (a unit or a surrogate pair may be split between chunks); the
/// byte order mark is dropped, unpaired surrogates become U+FFFD.
struct UTF16Transcoder {
    let order: UTF16Order
    private var odd: UInt8?
    private var high: UInt16?
    private var started = false
    private var out: [UInt8] = []

    init(_ order: UTF16Order) { self.order = order }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) {
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(bytes.count + bytes.count / 2)
        for b in bytes {
            guard let first = odd else { odd = b; continue }
            odd = nil
            let unit = order == .little ? UInt16(first) | UInt16(b) << 8 : UInt16(first) << 8 | UInt16(b)
            if !started {
                started = true
                if unit == 0xFEFF { continue }
            }
            unitIn(unit)
        }
        out.withUnsafeBytes(emit)
    }

    private mutating func unitIn(_ unit: UInt16) {
        if let h = high {
            high = nil
            if (0xDC00...0xDFFF).contains(unit) {
                let scalar = 0x10000 + ((UInt32(h) - 0xD800) << 10) + (UInt32(unit) - 0xDC00)
                put(scalar)
                return
            }
            put(0xFFFD)
        }
        switch unit {
        case 0xD800...0xDBFF: high = unit
        case 0xDC00...0xDFFF: put(0xFFFD)
        default: put(UInt32(unit))
        }
    }

    private mutating func put(_ v: UInt32) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | ((v >> 18) & 0x07)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}
