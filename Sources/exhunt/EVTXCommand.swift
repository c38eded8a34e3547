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

        @Option(name: .shortAndLong, help: "Parallel workers (default: number of cores). Output order is kept.")
        var jobs: Int?

        func run() async throws {
            let workers = max(1, jobs ?? ProcessInfo.processInfo.activeProcessorCount)
            let xml = format == "xml"
            var failed = false
            // One cache per worker, kept across chunks and files: templates and recorded
            // renderings carry over (each worker uses only its own).
            let caches = (0..<workers).map { _ in EVTXCache() }
            for path in files {
                let data: Data
                do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
                    Terminal.error("\(path): \(error)")
                    failed = true
                    continue
                }
                guard data.count >= 4096, EVTXFile.isEVTX(data.prefix(8)) else {
                    Terminal.error("\(path): not an EVTX file (bad file signature)")
                    failed = true
                    continue
                }
                let chunks = EVTXFile.chunkRanges(fileSize: data.count)
                let chunkCount = chunks.count
                // Chunks are independent: parse a batch on every worker, print in file order.
                let batch = workers * 8
                var first = 0
                while first < chunkCount {
                    let range = first..<min(chunkCount, first + batch)
                    let rendered = await withTaskGroup(of: [(Int, Data, [EVTXProblem])].self) { group in
                        for w in 0..<workers {
                            group.addTask {
                                let cache = caches[w]
                                var results: [(Int, Data, [EVTXProblem])] = []
                                for i in stride(from: range.lowerBound + w, to: range.upperBound, by: workers) {
                                    let (out, problems) = data.withUnsafeBytes { raw -> (Data, [EVTXProblem]) in
                                        let chunk = UnsafeRawBufferPointer(rebasing: raw[chunks[i]])
                                        if xml {
                                            let (records, problems) = EVTXFile.parseChunk(chunk, index: i, fileOffset: chunks[i].lowerBound, xml: true, cache: cache)
                                            return (Self.xml(records), problems)
                                        }
                                        let (bytes, problems) = EVTXFile.jsonLines(chunk, index: i, fileOffset: chunks[i].lowerBound, cache: cache)
                                        return (Data(bytes), problems)
                                    }
                                    results.append((i, out, problems))
                                }
                                return results
                            }
                        }
                        var all: [(Int, Data, [EVTXProblem])] = []
                        for await part in group { all += part }
                        return all.sorted { $0.0 < $1.0 }
                    }
                    for (_, out, problems) in rendered {
                        FileHandle.standardOutput.write(out)
                        for p in problems { Terminal.error("\(path): \(p)") }
                    }
                    first = range.upperBound
                }
            }
            if failed { throw ExitCode(2) }
        }

        static func xml(_ records: [EVTXRecord]) -> Data {
            var out = Data()
            for r in records { out += Data("<!-- record \(r.recordID) -->\n\(r.xml ?? "")".utf8) }
            return out
        }
    }
}
