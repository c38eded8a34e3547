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
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(record), options: [])
        } catch {
            return .failure(ExportParseError("not valid JSON: \(Self.reason(error))"))
        }
        guard let dict = object as? [String: Any] else { return .failure(ExportParseError("not a JSON object")) }
        return event(dict)
    }

    /// One `<Event>` element as a Windows event: read as the evtx crate's JSON of it.
    public func event(xml record: UnsafeRawBufferPointer) -> Result<ExportedEvent, ExportParseError> {
        switch XMLAsJSON.parse(record) {
        case .failure(let e): return .failure(e)
        case .success(let dict): return event(dict)
        }
    }

    /// The shape a record has, if any (the first whose `when` holds, after unwrapping).
    func match(_ record: [String: Any]) -> (Shape, [String: Any])? {
        for s in shapes {
            var root = record
            for u in s.unwrap { if let inner = Self.lookup(record, u) as? [String: Any] { root = inner; break } }
            if s.when.contains(where: { all in all.allSatisfy { Self.lookup(root, $0) != nil } }) { return (s, root) }
        }
        return nil
    }

    func event(_ record: [String: Any]) -> Result<ExportedEvent, ExportParseError> {
        guard let (shape, root) = match(record) else {
            return .failure(ExportParseError("not a Windows event in any known export shape (keys: \(record.keys.sorted().prefix(8).joined(separator: ", ")))"))
        }
        var f = EVTXFields()
        var texts: [String] = []
        var unnamed: [String] = []
        if let path = shape.system, let system = Self.lookup(root, path) as? [String: Any] {
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
            guard let text = Self.lookup(root, path) as? String, text.first == "<" else { continue }
            let parsed = text.utf8.withContiguousStorageIfAvailable { XMLAsJSON.parse(UnsafeRawBufferPointer($0)) }
                ?? Array(text.utf8).withUnsafeBytes { XMLAsJSON.parse($0) }
            if case .success(let d) = parsed { Self.collect(d, into: &f, texts: &texts, unnamed: &unnamed) }
        }
        for path in shape.unnamedData {
            guard let v = Self.lookup(root, path) else { continue }
            var list: [Any] = (v as? [Any]) ?? []
            if let s = v as? String {
                if s.first == "[", let parsed = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [Any] { list = parsed } else { list = [s] }
            }
            for item in list { if let s = Self.string(item) { unnamed.append(s); texts.append(s) } }
        }
        if shape.rest {
            let taken = Set(f.fields.map { $0.name.lowercased() })
            for key in root.keys.sorted() where !shape.exclude.contains(key.lowercased()) && !taken.contains(key.lowercased()) {
                guard let value = root[key], !(value is [String: Any]), let s = Self.string(value) else { continue }
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
    static func system(_ system: [String: Any], into f: inout EVTXFields) {
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
                        f.fields.append(("TimeCreated", t is String ? (string(t) ?? "") : ISOTime.string(date)))
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
    static func collect(_ value: Any, into f: inout EVTXFields, texts: inout [String], unnamed: inout [String]) {
        guard let dict = value as? [String: Any] else {
            if let list = value as? [Any] { for item in list { collect(item, into: &f, texts: &texts, unnamed: &unnamed) } }
            return
        }
        for key in dict.keys.sorted() where key != "#attributes" {
            guard let v = dict[key] else { continue }
            if key == "Data" || key == "#text" {
                if let s = string(v) { unnamed.append(s); texts.append(s) }
                continue
            }
            if let inner = v as? [String: Any], inner["#text"] == nil, inner["Value"] == nil {
                collect(inner, into: &f, texts: &texts, unnamed: &unnamed)
            } else if let list = v as? [Any], list.contains(where: { $0 is [String: Any] }) {
                collect(list, into: &f, texts: &texts, unnamed: &unnamed)
            } else if let s = string(v) {
                f.fields.append((key, s))
                texts.append(s)
            }
        }
    }

    // MARK: - Values

    /// A value at a path: keys in turn, looking inside `#attributes` where a key is not found,
    /// and taking the rest of the path as one dotted key where that is how the record spells it.
    static func lookup(_ root: Any, _ path: [String]) -> Any? {
        var node: Any = root
        var i = 0
        while i < path.count {
            guard let dict = node as? [String: Any] else { return nil }
            if let next = dict[path[i]] ?? (dict["#attributes"] as? [String: Any])?[path[i]] {
                node = next
                i += 1
                continue
            }
            if i + 1 < path.count, let next = dict[path[i...].joined(separator: ".")] { node = next; i = path.count; continue }
            return nil
        }
        return isNull(node) ? nil : node
    }

    // Casting a Swift String or collection held in `Any` to a Foundation class bridges all of it
    // first (a whole event's dictionary, for `is NSNull`): 40% of an export hunt's time. Only
    // class instances are asked.
    static func isNull(_ v: Any) -> Bool { type(of: v) is AnyObject.Type && v is NSNull }

    static func number(_ v: Any) -> NSNumber? { type(of: v) is AnyObject.Type ? v as? NSNumber : nil }

    static func first(_ sources: [Source], in root: [String: Any]) -> String? {
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
    static func attributes(_ value: Any) -> [String: Any] {
        guard let dict = value as? [String: Any] else { return [:] }
        return dict["#attributes"] as? [String: Any] ?? dict
    }

    /// A JSON value as the EVTX reader's text of it: strings as they are, numbers in decimal,
    /// booleans as `true`/`false`, arrays space-joined, an element's `#text` (or `Value`); null,
    /// and objects without text, are no value.
    static func string(_ value: Any) -> String? {
        if let s = value as? String { return s }
        if let dict = value as? [String: Any] { return (dict["#text"] ?? dict["Value"]).flatMap(string) }
        if let list = value as? [Any] {
            let items = list.compactMap(string)
            return items.isEmpty ? nil : items.joined(separator: " ")
        }
        switch number(value) {
        case let n?:
            switch String(cString: n.objCType) {
            case "c", "B": return n.boolValue ? "true" : "false"
            case "d", "f":
                let d = n.doubleValue
                if d.rounded() == d, abs(d) < 9.0e15 { return String(Int64(d)) }
                return String(d)
            default: return n.stringValue
            }
        case nil:
            return nil
        }
    }

    /// A time: ISO 8601 text (the crate's `… UTC` suffix and offsets allowed) or seconds since 1970.
    static func time(_ value: Any) -> Date? {
        if let s = value as? String {
            return Timestamp.parse(s.hasSuffix(" UTC") ? String(s.dropLast(4)) : s)
        }
        if let n = number(value), String(cString: n.objCType) != "c" {
            let d = n.doubleValue
            // Seconds since 1970 from 1990 to 2100; milliseconds in the same span are divided.
            if d > 631_152_000, d < 4_102_444_800 { return Date(timeIntervalSince1970: d) }
            if d > 631_152_000_000, d < 4_102_444_800_000 { return Date(timeIntervalSince1970: d / 1000) }
        }
        return nil
    }

    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}
