import Foundation
import Testing
import EVTX
import EventExports
import HuntCore
import TestSupport

let shapes: ExportShapes = {
    do { return try ExportShapes.load(repoRoot.appendingPathComponent("Rules/mappings/event-exports.yml")) } catch { return ExportShapes() }
}()

/// Every record of an `.evtx` as the EVTX reader gives it, by record id.
func evtxRecords(_ url: URL) throws -> [UInt64: EVTXFields] {
    let data = try Data(contentsOf: url)
    var out: [UInt64: EVTXFields] = [:]
    data.withUnsafeBytes { raw in
        var offset = EVTXFile.headerSize
        var index = 0
        while offset + EVTXFile.chunkHeaderSize <= raw.count {
            let end = min(raw.count, offset + EVTXFile.chunkSize)
            for r in EVTXFile.fields(UnsafeRawBufferPointer(rebasing: raw[offset..<end]), index: index, fileOffset: offset).records {
                out[r.id] = r.fields
            }
            offset += EVTXFile.chunkSize
            index += 1
        }
    }
    return out
}

/// Every event of an export, with the problems the reading met.
func exportEvents(_ bytes: [UInt8], chunk: Int = 65536) -> (events: [(place: RecordPlace, event: ExportedEvent)], problems: [String]) {
    guard let sniff = shapes.sniff(Array(bytes.prefix(16384))), case .events(let format, let utf16) = sniff else {
        return ([], ["not recognised as an export"])
    }
    var splitter = ExportSplitter(format: format, utf16: utf16)
    var events: [(RecordPlace, ExportedEvent)] = []
    var problems: [String] = []
    bytes.withUnsafeBytes { raw in
        var i = 0
        repeat {
            let part = UnsafeRawBufferPointer(rebasing: raw[i..<min(raw.count, i + chunk)])
            splitter.feed(part) { record, place in
                switch ExportSplitter.event(record, format: format, shapes: shapes) {
                case .success(let e): events.append((place, e))
                case .failure(let e): problems.append("record \(place.number): \(e)")
                }
            }
            i += chunk
        } while i < raw.count
    }
    splitter.finish()
    problems += splitter.problems.map(\.message)
    return (events, problems)
}

/// Fields as a comparable set: names and values (order is the reader's own).
func fieldSet(_ f: EVTXFields) -> Set<String> { Set(f.fields.map { "\($0.name)=\($0.value)" }) }

@Suite(.timeLimit(.minutes(5))) struct EventExportTests {
    static let crateSamples = ["security.evtx", "sysmon.evtx", "Security_short_selected.evtx"]

    /// The evtx crate's JSON of a log gives, record by record, the fields the EVTX reader gives
    /// from the log itself: the rules cannot tell them apart.
    @Test(.enabled(if: hasSharedData, "needs ../shared"), arguments: crateSamples)
    func crateJSONGivesTheEVTXReadersFields(_ name: String) throws {
        let evtx = sharedData.appendingPathComponent("omerbenamram__evtx/samples/\(name)")
        let json = sharedData.appendingPathComponent("generated/evtx_crate_json/\(name).jsonl")
        let native = try evtxRecords(evtx)
        let (events, problems) = exportEvents(Array(try Data(contentsOf: json)))
        #expect(problems.isEmpty, "\(problems.prefix(3))")
        #expect(events.count == native.count)
        var differing: [String] = []
        for (place, e) in events {
            let id = try #require(e.recordID)
            guard let n = native[id] else { differing.append("record \(id): not in the .evtx"); continue }
            #expect(e.shape == "evtx-crate")
            #expect(place.line == place.number, "JSON Lines: a record a line")
            let a = fieldSet(e.fields), b = fieldSet(n)
            if a != b || e.fields.time != n.time {
                differing.append("record \(id): export only \(a.subtracting(b).sorted().prefix(3)), evtx only \(b.subtracting(a).sorted().prefix(3))")
            }
        }
        #expect(differing.isEmpty, "\(differing.count) of \(events.count) differ: \(differing.prefix(3))")
    }

    /// Windows' event XML (here exhunt's own rendering of the log, as `wevtutil qe /f:xml` writes
    /// it), one `<Event>` after another inside `<Events>`, in UTF-8 and in UTF-16 as Event Viewer
    /// saves it, gives the EVTX reader's fields.
    @Test(.enabled(if: hasSharedData, "needs ../shared"))
    func eventXMLGivesTheEVTXReadersFields() throws {
        let evtx = sharedData.appendingPathComponent("omerbenamram__evtx/samples/security.evtx")
        let dump = try run(productBinary("exhunt"), ["evtx", "dump", evtx.path, "--format", "xml"])
        #expect(dump.status == 0)
        let native = try evtxRecords(evtx)
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Events>\n" + dump.text
            .split(separator: "\n").filter { !$0.hasPrefix("<?xml") && !$0.hasPrefix("Record ") }.joined(separator: "\n") + "\n</Events>\n"
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in xml.utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        for bytes in [Array(xml.utf8), utf16] {
            let (events, problems) = exportEvents(bytes, chunk: 1000)
            #expect(problems.isEmpty, "\(problems.prefix(3))")
            #expect(events.count == native.count)
            var differing = 0
            for (_, e) in events {
                guard let id = e.recordID, let n = native[id] else { differing += 1; continue }
                if fieldSet(e.fields) != fieldSet(n) || e.fields.time != n.time { differing += 1 }
            }
            #expect(differing == 0)
        }
    }

    /// Winlogbeat's raw document and the same event after Elastic's ingest pipeline (ECS, with
    /// Image and CommandLine moved out of winlog.event_data) give the same process creation.
    @Test(.enabled(if: hasSharedData, "needs ../shared"))
    func winlogbeatRawAndECSGiveTheSameProcessCreation() throws {
        let base = sharedData.appendingPathComponent("elastic__beats/x-pack/winlogbeat/module/sysmon/test/testdata")
        var got: [[String: String]] = []
        for file in ["sysmon-12-processcreate.evtx.golden.json", "ingest/sysmon-12-processcreate.golden.json"] {
            let (events, problems) = exportEvents(Array(try Data(contentsOf: base.appendingPathComponent(file))))
            #expect(problems.isEmpty)
            let e = try #require(events.first?.event)
            #expect(e.shape == "winlogbeat")
            got.append(Dictionary(e.fields.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }))
        }
        for g in got {
            #expect(g["EventID"] == "1")
            #expect(g["Channel"] == "Microsoft-Windows-Sysmon/Operational")
            #expect(g["Computer"] == "vagrant")
            #expect(g["Image"] == "C:\\Windows\\System32\\notepad.exe")
            #expect(g["ParentImage"] == "C:\\Windows\\explorer.exe")
            #expect(g["CommandLine"] == "\"C:\\Windows\\system32\\notepad.exe\" ")
            #expect(g["ProcessId"] == "3616")
        }
    }

    /// Velociraptor's parse_evtx row of a one-record Security log gives what the log gives.
    @Test(.enabled(if: hasSharedData, "needs ../shared"))
    func velociraptorRowGivesTheEVTXReadersFields() throws {
        let yaml = try String(contentsOf: sharedData.appendingPathComponent("Velocidex__velociraptor/artifacts/testdata/windows/evtx.out.yaml"), encoding: .utf8)
        // The first query's output: the JSON array after "Output: ".
        let start = try #require(yaml.range(of: "Output: ["))
        let rest = yaml[yaml.index(before: start.upperBound)...]
        let end = try #require(rest.range(of: "\n]\n"))
        let array = String(rest[..<end.upperBound])
        let (events, problems) = exportEvents(Array(array.utf8))
        #expect(problems.isEmpty)
        let e = try #require(events.first?.event)
        #expect(e.shape == "velociraptor")
        let native = try evtxRecords(sharedData.appendingPathComponent("Velocidex__velociraptor/artifacts/testdata/files/Security_1_record.evtx"))
        let n = try #require(native.values.first)
        let mine = Dictionary(e.fields.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(n.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        for key in ["EventID", "Channel", "Computer", "Provider_Name", "SubjectUserName", "SubjectUserSid", "SubjectDomainName", "EventRecordID"] {
            #expect(mine[key] == theirs[key], "\(key)")
        }
        #expect(e.fields.time.map { abs($0.timeIntervalSince(n.time ?? .distantPast)) < 0.001 } == true)
    }

    /// OTRF's flattened dataset and a Log Analytics export (SecurityEvent columns, the Event
    /// table's EventData as XML text, unnamed data in EventData_dynamic).
    @Test(.enabled(if: hasSharedData, "needs ../shared"))
    func flattenedAndLogAnalyticsExports() throws {
        let dir = try tempDir()
        let zip = sharedData.appendingPathComponent("OTRF__Security-Datasets/datasets/atomic/windows/credential_access/host/psh_lsass_memory_dump_comsvcs.zip")
        #expect(try run("/usr/bin/unzip", ["-q", "-o", zip.path, "-d", dir.path]).status == 0)
        let file = try #require(try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).first)
        let (events, problems) = exportEvents(Array(try Data(contentsOf: file)))
        #expect(problems.isEmpty)
        #expect(events.count > 100)
        #expect(events.allSatisfy { $0.event.shape == "flattened" })
        let dump = try #require(events.first { $0.event.fields.fields.contains { $0.name == "CommandLine" && $0.value.contains("comsvcs.dll") } })
        let f = Dictionary(dump.event.fields.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(f["Computer"] != nil && f["Channel"] != nil && f["EventID"] != nil)
        #expect(f["Message"] == nil, "rendered messages are not event data")

        let record = """
        {"TenantId":"t","Type":"Event","TimeGenerated":"2021-03-03T04:15:12.5Z","Computer":"EXCH01.lab","EventLog":"Application",\
        "Source":"MSExchange Unified Messaging","EventID":1040,"EventData":"<DataItem type=\\"System.XmlData\\"><EventData xmlns=\\"http://schemas.microsoft.com/win/2004/08/events/event\\"><Data>System.InvalidCastException: x</Data><Data Name=\\"Extra\\">1</Data></EventData></DataItem>"}
        {"TenantId":"t","Type":"SecurityEvent","TimeGenerated":"2021-03-03T05:00:00Z","Computer":"EXCH01.lab","Channel":"Security",\
        "EventSourceName":"Microsoft-Windows-Security-Auditing","EventID":4688,"NewProcessName":"C:\\\\Windows\\\\System32\\\\cmd.exe","EventData_dynamic":"[\\"a\\",\\"b\\"]"}
        """
        let (la, laProblems) = exportEvents(Array(record.utf8))
        #expect(laProblems.isEmpty, "\(laProblems)")
        #expect(la.count == 2)
        let app = Dictionary(la[0].event.fields.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(app["Channel"] == "Application" && app["Provider_Name"] == "MSExchange Unified Messaging" && app["EventID"] == "1040")
        #expect(app["Data"] == "System.InvalidCastException: x" && app["Extra"] == "1")
        #expect(la[0].event.fields.time == Timestamp.parse("2021-03-03T04:15:12.5Z"))
        let sec = Dictionary(la[1].event.fields.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(sec["NewProcessName"] == "C:\\Windows\\System32\\cmd.exe" && sec["Data"] == "a b" && sec["TenantId"] == nil)
        #expect(la[1].place.line == 2)
    }
}

/// Hostile and damaged exports: each gives located problems, the rest is read, memory stays
/// one record's.
@Suite(.timeLimit(.minutes(5))) struct HostileExportTests {
    static let good = #"{"EventID": 4688, "Channel": "Security", "Hostname": "EXCH01", "NewProcessName": "C:\\x.exe"}"#

    @Test func truncatedAndBrokenRecordsAreLocatedAndTheRestRead() {
        let text = Self.good + "\n{\"EventID\": 4689, \"Channel\": \n" + Self.good + "\n" + "{\"EventID\": 1, \"Channel\": \"Security\", \"Hostname\":"
        let (events, problems) = exportEvents(Array(text.utf8))
        // JSON Lines: the broken second line costs its own record only.
        #expect(events.count == 2)
        #expect(events.map(\.place.line) == [1, 3])
        #expect(problems.contains { $0.contains("record 2 is cut off at its line end") })
        #expect(problems.contains { $0.contains("record 4 is cut off at the end of the file") })
        // Inside a record, a value that is not JSON is located by its record.
        let (_, bad) = exportEvents(Array((Self.good + "\n{\"EventID\": 4689, \"Channel\": nope}\n").utf8))
        #expect(bad.contains { $0.contains("record 2") && $0.contains("not valid JSON") })
    }

    @Test func deepNestingIsSkippedNotRecursedInto() {
        let deep = "{\"EventID\": 1, \"Channel\": \"Security\", \"x\": " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        let (events, problems) = exportEvents(Array((deep + "\n" + Self.good + "\n").utf8))
        #expect(events.count == 1)
        #expect(problems.contains { $0.contains("nested deeper than") })
    }

    /// A record larger than the limit (here 8 MiB on one line) is skipped whole without being
    /// held; the records after it are read.
    @Test func anOversizedRecordIsSkippedAndTheNextRead() {
        var bytes = Array("{\"EventID\": 1, \"Channel\": \"Security\", \"Blob\": \"".utf8)
        bytes += Array(repeating: UInt8(ascii: "A"), count: 8 << 20)
        bytes += Array("\"}\n".utf8) + Array((Self.good + "\n").utf8)
        let (events, problems) = exportEvents(bytes)
        #expect(events.count == 1)
        #expect(problems.contains { $0.contains("larger than 4 MiB") })
    }

    /// Entities and DTDs are never expanded or fetched: a DTD before the events is ignored (and
    /// said), one inside an event refuses that event, an undeclared entity is a located error.
    @Test func xmlEntitiesAndDTDsAreNeverExpanded() {
        let event = #"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>1</EventID><Channel>Security</Channel></System><EventData><Data Name="A">1</Data></EventData></Event>"#
        let laughs = "<!DOCTYPE Events [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        let withEntity = event.replacingOccurrences(of: ">1</Data>", with: ">&c;&x;</Data>")
        let doc = "<?xml version=\"1.0\"?>\n" + laughs + "\n<Events>\n" + event + "\n" + withEntity + "\n"
            + "<Event><!DOCTYPE x [<!ENTITY y \"z\">]><System><EventID>2</EventID></System></Event>\n</Events>\n"
        let (events, problems) = exportEvents(Array(doc.utf8))
        #expect(events.count == 1)
        #expect(!events.contains { $0.event.fields.fields.contains { $0.value.contains("aaaa") || $0.value.contains("root:") } })
        #expect(problems.contains { $0.contains("document type declaration outside the events") })
        #expect(problems.contains { $0.contains("document type declaration inside an event") })
        #expect(problems.count >= 3)
    }

    /// Shapes may be mixed in one file: each record is read as its own shape; a record of no
    /// shape is a located problem.
    @Test func mixedShapesInOneFile() {
        let text = [
            Self.good,
            #"{"winlog": {"event_id": "4624", "channel": "Security", "event_data": {"TargetUserName": "bob"}}, "@timestamp": "2021-03-03T04:15:12Z"}"#,
            #"{"System": {"EventID": {"Value": 1102}, "Channel": "Security"}, "UserData": {"LogFileCleared": {"SubjectUserName": "test"}}}"#,
            #"{"something": "else"}"#,
        ].joined(separator: "\n")
        let (events, problems) = exportEvents(Array(text.utf8))
        #expect(events.map(\.event.shape) == ["flattened", "winlogbeat", "velociraptor"])
        #expect(problems.count == 1 && problems[0].contains("record 4") && problems[0].contains("not a Windows event"))
        #expect(events[1].event.fields.time == Timestamp.parse("2021-03-03T04:15:12Z"))
    }

    /// Records cut anywhere by the reads that deliver them give the same events.
    @Test(.enabled(if: hasSharedData, "needs ../shared"))
    func chunkBoundariesDoNotMatter() throws {
        let bytes = Array(try Data(contentsOf: sharedData.appendingPathComponent("generated/evtx_crate_json/sysmon.evtx.jsonl")).prefix(200_000))
        let whole = exportEvents(bytes, chunk: bytes.count).events.map { fieldSet($0.event.fields) }
        for chunk in [1, 7, 4096] {
            #expect(exportEvents(bytes, chunk: chunk).events.map { fieldSet($0.event.fields) } == whole)
        }
    }
}

/// Inputs the fuzzer found.
@Suite(.timeLimit(.minutes(2))) struct ExportReproducerTests {
    /// An element name that is not UTF-8 made Foundation's XMLParser trap (the process died).
    @Test func anXMLNameThatIsNotUTF8IsAProblemNotACrash() {
        let bytes = Array("<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System><EventID>1</EventID></System><Ev".utf8)
            + [0xC3, 0xC3, 0xC3] + Array("/></Event>\n".utf8)
        let record = bytes.withUnsafeBytes { shapes.event(xml: $0) }
        switch record {
        case .success(let e): #expect(e.fields.fields.contains { $0.name == "EventID" && $0.value == "1" })
        case .failure(let e): #expect(!e.description.isEmpty)
        }
        let whole = Array("<?xml version=\"1.0\"?>\n<Events".utf8) + Array(repeating: UInt8(0xC3), count: 100) + Array("><Event>x</Event>".utf8)
        _ = whole.withUnsafeBytes { shapes.event(xml: $0) }
    }

    /// A processing instruction without data (`<?x?>`) made Foundation's XMLParser read a NULL
    /// through strlen (SIGSEGV). Events hold none: they are dropped and the event read.
    @Test func aProcessingInstructionWithoutDataIsNotACrash() throws {
        for pi in ["<?x?>", "<?xml?>", "<?>", "<?open"] {
            let text = "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\(pi == "<?open" ? "" : pi)"
                + "<System><EventID>4624</EventID></System><EventData><Data Name=\"a\">1</Data></EventData></Event>\(pi == "<?open" ? pi : "")"
            let record = Array(text.utf8).withUnsafeBytes { shapes.event(xml: $0) }
            let e = try #require(try? record.get(), "\(pi)")
            #expect(e.fields.fields.contains { $0.name == "EventID" && $0.value == "4624" }, "\(pi)")
        }
        let found = Array("<?xml?>\n<Events><Event xmlns=\"x\"/><#cation</Chnlna>e</Event><?a?></Events>\n".utf8)
        _ = found.withUnsafeBytes { shapes.event(xml: $0) }
    }
}
