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
            // Each worker keeps its cache (templates and recorded renderings carry over) and its
            // output buffer across chunks, batches and files.
            let pool = (0..<workers).map { _ in DumpWorker() }
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
                // Chunks are independent: parse a batch on every worker, print in file order.
                let batch = workers * 8
                var first = 0
                while first < chunks.count {
                    let range = first..<min(chunks.count, first + batch)
                    await withTaskGroup(of: Void.self) { group in
                        for (w, worker) in pool.enumerated() {
                            group.addTask {
                                worker.start()
                                for i in stride(from: range.lowerBound + w, to: range.upperBound, by: workers) {
                                    data.withUnsafeBytes { raw in
                                        worker.render(UnsafeRawBufferPointer(rebasing: raw[chunks[i]]), index: i, fileOffset: chunks[i].lowerBound, xml: xml)
                                    }
                                }
                            }
                        }
                    }
                    for i in range {
                        let part = pool[(i - range.lowerBound) % workers].parts[(i - range.lowerBound) / workers]
                        try? FileHandle.standardOutput.write(contentsOf: pool[(i - range.lowerBound) % workers].out[part.bytes])
                        for p in part.problems { Terminal.error("\(path): \(p)") }
                    }
                    first = range.upperBound
                }
            }
            if failed { throw ExitCode(2) }
        }

    }
}

/// One dump worker's cache and output, reused batch after batch. Only its own task touches it
/// while a batch runs, and the printer reads it only between batches.
private final class DumpWorker: @unchecked Sendable {
    let cache = EVTXCache()
    var out: [UInt8] = []
    /// This batch's chunks, in the order rendered: where each one's output is, and its problems.
    var parts: [(bytes: Range<Int>, problems: [EVTXProblem])] = []

    func start() {
        out.removeAll(keepingCapacity: true)
        parts.removeAll(keepingCapacity: true)
    }

    func render(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int, xml: Bool) {
        let start = out.count
        let problems: [EVTXProblem]
        if xml {
            let parsed = EVTXFile.parseChunk(chunk, index: index, fileOffset: fileOffset, xml: true, cache: cache)
            for r in parsed.records { out += Array("<!-- record \(r.recordID) -->\n\(r.xml ?? "")".utf8) }
            problems = parsed.problems
        } else {
            problems = EVTXFile.jsonLines(chunk, index: index, fileOffset: fileOffset, cache: cache, appendingTo: &out)
        }
        parts.append((start..<out.count, problems))
    }
}
