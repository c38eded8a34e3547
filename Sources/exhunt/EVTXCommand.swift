import ArgumentParser
import EVTX
import Foundation
import HuntCore

struct EVTXCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evtx",
        abstract: "Windows event log (.evtx) tools.",
        subcommands: [Dump.self])

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every record as JSON Lines: event_record_id, timestamp, data (the evtx crate's JSON shape).",
            discussion: "Damaged chunks and records are reported on standard error with their offset and skipped; every intact record is printed.")

        @Argument(help: ".evtx files.")
        var files: [String]

        @Option(help: "jsonl (default) or xml.")
        var format = "jsonl"

        func run() async throws {
            var failed = false
            for path in files {
                let data: Data
                do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
                    Terminal.error("\(path): \(error)")
                    failed = true
                    continue
                }
                let (records, problems) = EVTXFile.parse(data, xml: format == "xml")
                var out = Data()
                for r in records {
                    if format == "xml" {
                        out += Data("<!-- record \(r.recordID) -->\n\(r.xml ?? "")".utf8)
                        continue
                    }
                    out += Data("{\"event_record_id\":\(r.recordID),\"timestamp\":\"\(ISOTime.string(r.timestamp))\",\"data\":".utf8)
                    out += Data(r.json.utf8)
                    out += Data("}\n".utf8)
                    if out.count > 1 << 20 { FileHandle.standardOutput.write(out); out.removeAll(keepingCapacity: true) }
                }
                FileHandle.standardOutput.write(out)
                for p in problems { Terminal.error("\(path): \(p)") }
            }
            if failed { throw ExitCode(2) }
        }
    }
}
