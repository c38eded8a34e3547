public import Foundation
public import EVTX
import HuntCore
import Yams

/// Why one exported record could not be read.
public struct ExportParseError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// One exported event as the EVTX reader would have given it: the same field names, so every
/// Sigma rule matches it unchanged.
public struct ExportedEvent: Sendable {
    public var fields: EVTXFields
    /// The event's own EventRecordID when the export kept it.
    public var recordID: UInt64?
    /// The shape it was read as (`evtx-crate`, `winlogbeat`, …).
    public var shape: String
}

/// The shapes exported Windows events come in and how each maps to a Windows event: data, loaded
/// from `Rules/mappings/event-exports.yml`.
public struct ExportShapes: Sendable {
    /// A value taken from paths in a record: the first path present, or pieces joined
    /// (`{user.domain}\{user.name}`, only when every path in it is present).
    enum Source: Sendable {
        case path([String])
        case joined([Piece])
        enum Piece: Sendable { case literal(String), path([String]) }

        init(_ text: String) {
            guard text.contains("{") else { self = .path(Self.split(text)); return }
            var pieces: [Piece] = []
            var rest = Substring(text)
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                if open > rest.startIndex { pieces.append(.literal(String(rest[..<open]))) }
                pieces.append(.path(Self.split(rest[rest.index(after: open)..<close])))
                rest = rest[rest.index(after: close)...]
            }
            if !rest.isEmpty { pieces.append(.literal(String(rest))) }
            self = .joined(pieces)
        }

        static func split(_ s: some StringProtocol) -> [String] { String(s).split(separator: Character(".")).map(String.init) }
    }

    struct Shape: Sendable {
        var name: String
        var title: String
        var unwrap: [[String]] = []
        var when: [[[String]]] = []
        var recordID: [[String]] = []
        var time: [[String]] = []
        var system: [String]?
        var fields: [(name: String, from: [Source])] = []
        var data: [[String]] = []
        var fill: [(name: String, from: [Source])] = []
        var xmlData: [[String]] = []
        var unnamedData: [[String]] = []
        var rest = false
        var exclude: Set<String> = []
    }

    var shapes: [Shape] = []

    public init() {}

    /// The shapes' names and titles, for people.
    public var names: [(name: String, title: String)] { shapes.map { ($0.name, $0.title) } }

    public static func load(_ url: URL) throws -> ExportShapes {
        guard let root = try Yams.compose(yaml: String(contentsOf: url, encoding: .utf8))?.mapping else {
            throw ExportParseError("\(url.path): not a YAML map")
        }
        func paths(_ node: Node?) -> [[String]] { (node?.sequence ?? []).compactMap(\.string).map(Source.split) }
        func sources(_ node: Node?) -> [(String, [Source])] {
            (node?.mapping ?? [:]).compactMap { k, v in
                guard let k = k.string else { return nil }
                let list = v.sequence.map { $0.compactMap(\.string) } ?? v.string.map { [$0] } ?? []
                return (k, list.map(Source.init))
            }
        }
        var out = ExportShapes()
        for item in root["shapes"]?.sequence ?? [] {
            guard let name = item["name"]?.string else { throw ExportParseError("\(url.path): a shape without a name") }
            var s = Shape(name: name, title: item["title"]?.string ?? name)
            s.unwrap = paths(item["unwrap"])
            s.when = (item["when"]?.sequence ?? []).map(paths)
            s.recordID = paths(item["record_id"])
            s.time = paths(item["time"])
            s.system = item["system"]?.string.map(Source.split)
            s.fields = sources(item["fields"])
            s.data = paths(item["data"])
            s.fill = sources(item["fill"])
            s.xmlData = paths(item["xml_data"])
            s.unnamedData = paths(item["unnamed_data"])
            s.rest = item["rest"]?.bool ?? false
            s.exclude = Set((item["exclude"]?.sequence ?? []).compactMap(\.string).map { $0.lowercased() })
            if s.when.isEmpty { throw ExportParseError("\(url.path): shape \(name) has no `when`") }
            out.shapes.append(s)
        }
        return out
    }

    // MARK: - Reading a record

    /// One JSON record (an object) as a Windows event, or why not.
    public func event(json record: UnsafeRawBufferPointer) -> Result<ExportedEvent, ExportParseError> {
        switch JSONParser.parse(record) {
        case .failure(let e): return .failure(ExportParseError("not valid JSON: \(e)"))
        case .success(let value):
            guard let dict = value.object else { return .failure(ExportParseError("not a JSON object")) }
            return event(dict)
        }
    }

    /// One `<Event>` element as a Windows event: read as the evtx crate's JSON of it.
    public func event(xml record: UnsafeRawBufferPointer) -> Result<ExportedEvent, ExportParseError> {
        switch XMLAsJSON.parse(record) {
        case .failure(let e): return .failure(e)
        case .success(let value): return event(value.object ?? [:])
        }
    }

    /// The shape a record has, if any (the first whose `when` holds, after unwrapping).
    func match(_ record: [String: JSONValue]) -> (Shape, [String: JSONValue])? {
        for s in shapes {
            var root = record
            for u in s.unwrap { if let inner = Self.lookup(record, u)?.object { root = inner; break } }
            if s.when.contains(where: { all in all.allSatisfy { Self.lookup(root, $0) != nil } }) { return (s, root) }
        }
        return nil
    }

    func event(_ record: [String: JSONValue]) -> Result<ExportedEvent, ExportParseError> {
        guard let (shape, root) = match(record) else {
            return .failure(ExportParseError("not a Windows event in any known export shape (keys: \(record.keys.sorted().prefix(8).joined(separator: ", ")))"))
        }
        var f = EVTXFields()
        var texts: [String] = []
        var unnamed: [String] = []
        if let path = shape.system, let system = Self.lookup(root, path)?.object {
            Self.system(system, into: &f)
        }
        for (name, from) in shape.fields {
            if let v = Self.first(from, in: root) { f.fields.append((name, v)) }
        }
        // Where event data begins: `fill` looks only at names given as event data (Sysmon's
        // ProcessId is not System's ProcessID, though names compare without case).
        let dataStart = f.fields.count
        for path in shape.data {
            if let d = Self.lookup(root, path) { Self.collect(d, into: &f, texts: &texts, unnamed: &unnamed) }
        }
        for path in shape.xmlData {
            guard let text = Self.lookup(root, path)?.stringValue, text.first == "<" else { continue }
            let parsed = text.utf8.withContiguousStorageIfAvailable { XMLAsJSON.parse(UnsafeRawBufferPointer($0)) }
                ?? Array(text.utf8).withUnsafeBytes { XMLAsJSON.parse($0) }
            if case .success(let d) = parsed { Self.collect(d, into: &f, texts: &texts, unnamed: &unnamed) }
        }
        for path in shape.unnamedData {
            guard let v = Self.lookup(root, path) else { continue }
            var list: [JSONValue] = v.array ?? []
            if let s = v.stringValue {
                let parsed = s.first == "[" ? Array(s.utf8).withUnsafeBytes { try? JSONParser.parse($0).get() }?.array : nil
                list = parsed ?? [v]
            }
            for item in list { if let s = Self.string(item) { unnamed.append(s); texts.append(s) } }
        }
        if shape.rest {
            let taken = Set(f.fields.map { $0.name.lowercased() })
            for key in root.keys.sorted() where !shape.exclude.contains(key.lowercased()) && !taken.contains(key.lowercased()) {
                guard let value = root[key], value.object == nil, let s = Self.string(value) else { continue }
                f.fields.append((key, s))
                texts.append(s)
            }
        }
        if !shape.fill.isEmpty {
            let present = Set(f.fields[dataStart...].map { $0.name.lowercased() })
            for (name, from) in shape.fill where !present.contains(name.lowercased()) {
                if let v = Self.first(from, in: root) {
                    f.fields.append((name, v))
                    texts.append(v)
                }
            }
        }
        if !unnamed.isEmpty { f.fields.append(("Data", unnamed.joined(separator: " "))) }
        f.text = texts.joined(separator: " ")
        if f.time == nil {
            for path in shape.time {
                guard let v = Self.lookup(root, path) ?? Self.lookup(record, path) else { continue }
                if let t = Self.time(v) { f.time = t; break }
            }
        }
        var recordID: UInt64?
        for path in shape.recordID {
            // The record's own wrapper (the crate's `event_record_id`) counts too.
            if let v = (Self.lookup(root, path) ?? Self.lookup(record, path)).flatMap(Self.string), let n = UInt64(v) { recordID = n; break }
        }
        if let id = recordID, !f.fields.contains(where: { $0.name == "EventRecordID" }) {
            f.fields.append(("EventRecordID", String(id)))
        }
        return .success(ExportedEvent(fields: f, recordID: recordID, shape: shape.name))
    }

    /// System as the EVTX reader reads it (`FieldExtractor`): Provider's Name and Guid,
    /// TimeCreated's SystemTime, Execution's attributes, Security's UserID, other elements' text.
    static func system(_ system: [String: JSONValue], into f: inout EVTXFields) {
        for key in system.keys.sorted() {
            guard let value = system[key] else { continue }
            switch key {
            case "#attributes":
                continue
            case "Provider":
                let a = attributes(value)
                if let n = a["Name"].flatMap(string) { f.fields.append(("Provider_Name", n)) }
                if let g = a["Guid"].flatMap(string) { f.fields.append(("Provider_Guid", g)) }
            case "TimeCreated":
                let a = attributes(value)
                if let t = a["SystemTime"] {
                    if let date = time(t) {
                        f.time = date
                        f.fields.append(("TimeCreated", t.stringValue ?? ISOTime.string(date)))
                    }
                }
            case "Execution":
                for (k, v) in attributes(value).sorted(by: { $0.key < $1.key }) {
                    if let s = string(v) { f.fields.append((k, s)) }
                }
            case "Security":
                if let u = attributes(value)["UserID"].flatMap(string) { f.fields.append(("UserID", u)) }
            default:
                if let s = string(value), !s.isEmpty { f.fields.append((key, s)) }
            }
        }
    }

    /// Event data as the EVTX reader collects it: named values by name (an empty named `Data` is
    /// ""), unnamed `Data` gathered, nested elements (UserData) walked, null leaves absent.
    static func collect(_ value: JSONValue, into f: inout EVTXFields, texts: inout [String], unnamed: inout [String]) {
        guard let dict = value.object else {
            if let list = value.array { for item in list { collect(item, into: &f, texts: &texts, unnamed: &unnamed) } }
            return
        }
        for key in dict.keys.sorted() where key != "#attributes" {
            guard let v = dict[key] else { continue }
            if key == "Data" || key == "#text" {
                if let s = string(v) { unnamed.append(s); texts.append(s) }
                continue
            }
            if let inner = v.object, inner["#text"] == nil, inner["Value"] == nil {
                collect(v, into: &f, texts: &texts, unnamed: &unnamed)
            } else if let list = v.array, list.contains(where: { $0.object != nil }) {
                collect(v, into: &f, texts: &texts, unnamed: &unnamed)
            } else if let s = string(v) {
                f.fields.append((key, s))
                texts.append(s)
            }
        }
    }

    // MARK: - Values

    /// A value at a path: keys in turn, looking inside `#attributes` where a key is not found,
    /// and taking the rest of the path as one dotted key where that is how the record spells it.
    static func lookup(_ root: [String: JSONValue], _ path: [String]) -> JSONValue? { lookup(.object(root), path) }

    static func lookup(_ root: JSONValue, _ path: [String]) -> JSONValue? {
        var node = root
        var i = 0
        while i < path.count {
            guard let dict = node.object else { return nil }
            if let next = dict[path[i]] ?? dict["#attributes"]?.object?[path[i]] {
                node = next
                i += 1
                continue
            }
            if i + 1 < path.count, let next = dict[path[i...].joined(separator: ".")] { node = next; i = path.count; continue }
            return nil
        }
        return node.isNull ? nil : node
    }

    static func first(_ sources: [Source], in root: [String: JSONValue]) -> String? {
        for s in sources {
            switch s {
            case .path(let p):
                if let v = lookup(root, p).flatMap(string) { return v }
            case .joined(let pieces):
                var out = ""
                var complete = true
                for piece in pieces {
                    switch piece {
                    case .literal(let l): out += l
                    case .path(let p):
                        if let v = lookup(root, p).flatMap(string), !v.isEmpty { out += v } else { complete = false }
                    }
                }
                if complete { return out }
            }
        }
        return nil
    }

    /// An element's attributes: under `#attributes` (the crate) or inline (Velociraptor).
    static func attributes(_ value: JSONValue) -> [String: JSONValue] {
        guard let dict = value.object else { return [:] }
        return dict["#attributes"]?.object ?? dict
    }

    /// A JSON value as the EVTX reader's text of it: strings as they are, numbers in decimal,
    /// booleans as `true`/`false`, arrays space-joined, an element's `#text` (or `Value`); null,
    /// and objects without text, are no value.
    static func string(_ value: JSONValue) -> String? {
        switch value {
        case .string(let s): return s
        case .object(let dict): return (dict["#text"] ?? dict["Value"]).flatMap(string)
        case .array(let list):
            let items = list.compactMap(string)
            return items.isEmpty ? nil : items.joined(separator: " ")
        case .bool(let b): return b ? "true" : "false"
        case .null: return nil
        case .number(let text):
            // Integers as written; a fraction or exponent that is a whole number as an integer.
            guard text.utf8.contains(where: { $0 == 0x2E || $0 == 0x65 || $0 == 0x45 }), let d = Double(text) else { return text }
            if d.rounded() == d, abs(d) < 9.0e15 { return String(Int64(d)) }
            return String(d)
        }
    }

    /// A time: ISO 8601 text (the crate's `… UTC` suffix and offsets allowed) or seconds since 1970.
    static func time(_ value: JSONValue) -> Date? {
        switch value {
        case .string(let s):
            return Timestamp.parse(s.hasSuffix(" UTC") ? String(s.dropLast(4)) : s)
        case .number(let text):
            guard let d = Double(text) else { return nil }
            // Seconds since 1970 from 1990 to 2100; milliseconds in the same span are divided.
            if d > 631_152_000, d < 4_102_444_800 { return Date(timeIntervalSince1970: d) }
            if d > 631_152_000_000, d < 4_102_444_800_000 { return Date(timeIntervalSince1970: d / 1000) }
            return nil
        default:
            return nil
        }
    }
}
