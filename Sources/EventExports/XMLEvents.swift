import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Splits Windows event XML (`wevtutil qe /f:xml`, Event Viewer's "Save as XML", one `<Event>`
/// or many, with or without `<Events>`) into one `<Event>…</Event>` element at a time, by bytes,
/// as they arrive. Nothing outside the events is parsed: a DTD there is never read, so its
/// entities can be neither expanded nor fetched.
public struct XMLEventSplitter {
    private let limits: ExportLimits
    private static let open = Array("<Event".utf8)
    private static let close = Array("</Event>".utf8)
    private static let doctype = Array("<!DOCTYPE".utf8)
    private static let entity = Array("<!ENTITY".utf8)
    private var record: [UInt8] = []
    private var inEvent = false
    private var skipping = false
    private var openMatched = 0
    /// `<Event` seen; the next byte decides whether it is the element (`<EventData` is not).
    private var openPending = false
    private var closeMatched = 0
    private var doctypeMatched = 0
    private var entityMatched = 0
    private var dtdReported = false
    private var place = RecordPlace(number: 0, line: 1, offset: 0)
    private var offset: UInt64 = 0
    private var line = 1
    private var count = 0
    public private(set) var problems: [ExportProblem] = []

    public init(limits: ExportLimits = ExportLimits()) {
        self.limits = limits
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer, RecordPlace) -> Void) {
        for b in bytes {
            if b == 0x0A { line += 1 }
            if inEvent { add(b) }
            if openPending {
                openPending = false
                // `<Event ` or `<Event>` starts an event; `<EventData`, `<EventID` do not.
                if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A || b == 0x3E {
                    if inEvent {
                        problems.append(.skipped("event", place, "has no end before the next event begins"))
                    }
                    count += 1
                    place = RecordPlace(number: count, line: line - (b == 0x0A ? 1 : 0), offset: offset - UInt64(Self.open.count))
                    inEvent = true
                    skipping = false
                    closeMatched = 0
                    record.removeAll(keepingCapacity: record.capacity <= limits.recordBytes)
                    record.append(contentsOf: Self.open)
                    record.append(b)
                    offset += 1
                    continue
                }
            }
            openMatched = Self.step(openMatched, b, Self.open)
            if openMatched == Self.open.count {
                openMatched = 0
                openPending = true
            }
            if inEvent {
                closeMatched = Self.step(closeMatched, b, Self.close)
                if closeMatched == Self.close.count {
                    closeMatched = 0
                    inEvent = false
                    if skipping {
                        problems.append(.skipped("event", place, "is larger than \(limits.recordBytes >> 20) MiB"))
                    } else {
                        record.withUnsafeBytes { emit($0, place) }
                    }
                    record.removeAll(keepingCapacity: record.capacity <= limits.recordBytes)
                }
            } else if !dtdReported {
                doctypeMatched = Self.step(doctypeMatched, b, Self.doctype)
                entityMatched = Self.step(entityMatched, b, Self.entity)
                if doctypeMatched == Self.doctype.count || entityMatched == Self.entity.count {
                    dtdReported = true
                    problems.append(ExportProblem(line: line, offset: offset,
                                                  message: "a document type declaration outside the events: ignored (entities are never expanded or fetched)"))
                }
            }
            offset += 1
        }
    }

    public mutating func finish() {
        if inEvent {
            problems.append(.skipped("event", place, "is cut off at the end of the file"))
            inEvent = false
        }
        record = []
    }

    private mutating func add(_ b: UInt8) {
        guard !skipping else { return }
        if record.count >= limits.recordBytes {
            skipping = true
            record = []
            return
        }
        record.append(b)
    }

    private static func step(_ matched: Int, _ b: UInt8, _ pattern: [UInt8]) -> Int {
        if b == pattern[matched] { return matched + 1 }
        return b == pattern[0] ? 1 : 0
    }
}

/// One XML element as the evtx crate writes it in JSON: attributes under `#attributes`, text
/// alone as the value (or under `#text` beside attributes or children), children by name (an
/// array when a name repeats), and in `EventData` each `<Data Name="X">` as `X` and unnamed
/// `Data` gathered under `Data`. So one reader serves the crate's JSON and Windows' XML.
enum XMLAsJSON {
    /// Parses one element (an `<Event>`, or an `<EventData>` fragment) into its JSON form, or says
    /// why it cannot. A document type declaration is refused before the parser sees anything.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<JSONValue, ExportParseError> {
        if contains(bytes, "<!DOCTYPE") || contains(bytes, "<!ENTITY") {
            return .failure(.init("a document type declaration inside an event: not read (entities are never expanded)"))
        }
        guard errorBudget.take(0) else {
            return .failure(.init("not parsed: this run has met \(XMLErrorBudget.limit) XML errors already "
                                  + "(Foundation's XMLParser keeps memory for each)"))
        }
        var data = withoutProcessingInstructions(protect(bytes))
        // swift-corelibs-foundation's XMLParser traps on a name that is not UTF-8 (libxml2 lets
        // such bytes through): what it gets is made valid UTF-8 first (U+FFFD for bad bytes).
        if String(validating: data, as: UTF8.self) == nil { data = Data(String(decoding: data, as: UTF8.self).utf8) }
        let builder = TreeBuilder()
        let parser = XMLParser(data: data)
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = false
        parser.delegate = builder
        let parsed = parser.parse()
        if builder.errors > 0 { _ = errorBudget.take(builder.errors) }
        guard parsed, let root = builder.root else {
            let reason = builder.failure ?? parser.parserError.map { "\($0.localizedDescription)" } ?? "not well-formed XML"
            return .failure(.init("XML: \(reason) (line \(parser.lineNumber))"))
        }
        return .success(.object([root.name: root.json()]))
    }

    /// The XML errors the process may still meet (shared by every file and thread of a run).
    static let errorBudget = XMLErrorBudget()

    /// Windows writes values as they are, control characters and CR LF included, which XML 1.0
    /// forbids or normalises away (`MinPasswordAge` of U+0003; `PrivilegeList` lines ending CR LF).
    /// Each such byte travels through the parser as a private-use character (U+E000 + byte) and
    /// is given back in the values (`restore`), so the values are the log's.
    static func protect(_ bytes: UnsafeRawBufferPointer) -> Data {
        guard bytes.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A }) else { return Data(bytes) }
        var out = Data(capacity: bytes.count + 64)
        for b in bytes {
            if b < 0x20, b != 0x09, b != 0x0A {
                out.append(contentsOf: [0xEE, 0x80, 0x80 | b])
            } else {
                out.append(b)
            }
        }
        return out
    }

    /// Processing instructions (`<?xml …?>` included) removed: events hold none, and
    /// swift-corelibs-foundation's XMLParser reads a NULL through `strlen` for one without data
    /// (`<?x?>`, found by fuzz-exports). One left open runs to the end and goes too.
    static func withoutProcessingInstructions(_ data: Data) -> Data {
        guard let first = data.firstRange(of: Data("<?".utf8)) else { return data }
        var out = Data(capacity: data.count)
        out.append(data[data.startIndex..<first.lowerBound])
        var i = first.lowerBound
        while i < data.endIndex {
            if data[i] == 0x3C, data.index(after: i) < data.endIndex, data[data.index(after: i)] == 0x3F {
                guard let close = data[i...].firstRange(of: Data("?>".utf8)) else { break }
                i = close.upperBound
                continue
            }
            out.append(data[i])
            i = data.index(after: i)
        }
        return out
    }

    static func restore(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { (0xE000...0xE01F).contains($0.value) }) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if (0xE000...0xE01F).contains(u.value), let c = Unicode.Scalar(u.value - 0xE000) { out.append(c) } else { out.append(u) }
        }
        return String(out)
    }

    private static func contains(_ bytes: UnsafeRawBufferPointer, _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard bytes.count >= n.count else { return false }
        var i = 0
        while i + n.count <= bytes.count {
            if bytes[i] == n[0], bytes[i..<i + n.count].elementsEqual(n) { return true }
            i += 1
        }
        return false
    }

    final class Node {
        let name: String
        let attributes: [String: String]
        var text = ""
        var children: [Node] = []

        init(name: String, attributes: [String: String]) {
            self.name = name
            self.attributes = attributes
        }

        /// The crate's JSON value of this element.
        func json() -> JSONValue {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if children.isEmpty, attributes.isEmpty { return trimmed.isEmpty ? .null : .string(text) }
            var out: [String: JSONValue] = [:]
            if !attributes.isEmpty { out["#attributes"] = .object(attributes.mapValues { JSONValue.string($0) }) }
            if !trimmed.isEmpty { out["#text"] = .string(text) }
            var unnamed: [String] = []
            for c in children {
                if localName == "EventData", c.localName == "Data" {
                    if let n = c.attributes["Name"], !n.isEmpty { out[n] = .string(c.text); continue }
                    unnamed.append(c.text)
                    continue
                }
                let key = c.localName
                let value = c.json()
                if let existing = out[key] {
                    if case .array(var list) = existing { list.append(value); out[key] = .array(list) } else { out[key] = .array([existing, value]) }
                } else {
                    out[key] = value
                }
            }
            if !unnamed.isEmpty {
                let text: JSONValue = unnamed.count == 1 ? .string(unnamed[0]) : .array(unnamed.map { JSONValue.string($0) })
                out["Data"] = .object(["#text": text])
            }
            return .object(out)
        }

        /// The name without a namespace prefix (`evt:Event` is `Event`).
        var localName: String { name.split(separator: ":").last.map(String.init) ?? name }
    }

    /// Builds the element tree, bounded in elements so a hostile event cannot grow it far.
    final class TreeBuilder: NSObject, XMLParserDelegate {
        var root: Node?
        var stack: [Node] = []
        var elements = 0
        var failure: String?
        static let maxElements = 20_000
        static let maxDepth = 64

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            elements += 1
            if elements > Self.maxElements || stack.count >= Self.maxDepth {
                failure = "more than \(Self.maxElements) elements or \(Self.maxDepth) levels"
                parser.abortParsing()
                return
            }
            let node = Node(name: elementName, attributes: attributes.mapValues(XMLAsJSON.restore))
            if let parent = stack.last { parent.children.append(node) } else if root == nil { root = node }
            stack.append(node)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            _ = stack.popLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += XMLAsJSON.restore(string)
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            stack.last?.text += String(decoding: CDATABlock, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, resolveExternalEntityName name: String, systemID: String?) -> Data? { nil }

        /// XMLParser parses in recovery mode and keeps memory for every error it reports (an
        /// event of a megabyte of damage would keep a megabyte's worth), so a document stops
        /// after a few: warnings (a namespace name that is not absolute) still pass.
        static let maxErrors = 8
        var errors = 0

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            errors += 1
            if errors >= Self.maxErrors {
                failure = failure ?? "more than \(Self.maxErrors) XML errors"
                parser.abortParsing()
            }
        }
    }
}

/// swift-corelibs-foundation's XMLParser keeps about 90 bytes for every error it reports, for the
/// life of the process. Each document stops after 8 errors and each file after 10,000 damaged
/// events; this bounds the whole run: past `limit` errors no more event XML is parsed (each
/// record is then said to be unread), so a collection of many damaged files cannot make a hunt's
/// memory grow without end (about 90 MB at most).
final class XMLErrorBudget: @unchecked Sendable {
    static let limit = 1_000_000
    private let lock = NSLock()
    private var spent = 0

    /// Counts `n` errors; false once the budget is spent (`take(0)` only asks).
    func take(_ n: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard spent < Self.limit else { return false }
        spent += n
        return true
    }

    /// For the fuzzer, which parses millions of documents in one process.
    func reset() {
        lock.lock()
        spent = 0
        lock.unlock()
    }
}
