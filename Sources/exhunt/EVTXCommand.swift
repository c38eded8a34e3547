import ArgumentParser
import EVTX
import Evidence
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
            // A batch of chunks at a time: memory stays the same whatever the file's size, and
            // the file is read like evidence (read-only, access time untouched). Windows of 4 MiB
            // at least: mapping 8 chunks at a time cost 10-15% (Benchmarks/bench-evtx.sh).
            let chunkSize = EVTXFile.chunkSize
            let batch = max(64, workers * 8)
            for path in files {
                do {
                    let file = try EvidenceFile(path: path)
                    let header = try file.window(at: 0, count: EVTXFile.headerSize)
                    guard header.bytes.count == EVTXFile.headerSize, EVTXFile.isEVTX(header.bytes) else {
                        Terminal.error("\(path): not an EVTX file (bad file signature)")
                        failed = true
                        continue
                    }
                    for p in EVTXFile.fileHeaderProblems(header.bytes) { Terminal.error("\(path): \(p)") }
                    var first = 0
                    while EVTXFile.headerSize + first * chunkSize < file.size {
                        let window = try file.window(at: EVTXFile.headerSize + first * chunkSize, count: batch * chunkSize)
                        let filled = window.bytes.count
                        // Chunks are independent: each worker parses every workers-th chunk of the
                        // batch; they are printed in file order.
                        let count = (filled + chunkSize - 1) / chunkSize
                        let base = first
                        await withTaskGroup(of: Void.self) { group in
                            for (w, worker) in pool.enumerated() {
                                group.addTask {
                                    worker.start()
                                    for i in stride(from: w, to: count, by: workers) {
                                        let range = i * chunkSize..<min(filled, (i + 1) * chunkSize)
                                        worker.render(UnsafeRawBufferPointer(rebasing: window.bytes[range]), index: base + i,
                                                      fileOffset: EVTXFile.headerSize + (base + i) * chunkSize, xml: xml)
                                    }
                                }
                            }
                        }
                        for i in 0..<count {
                            let worker = pool[i % workers]
                            let part = worker.parts[i / workers]
                            do { try FileHandle.standardOutput.write(contentsOf: worker.out[part.bytes]) } catch {
                                // Output that cannot be written (a full disk) must not pass for a short log.
                                Terminal.error("cannot write the output: \(error)")
                                throw ExitCode(2)
                            }
                            for p in part.problems { Terminal.error("\(path): \(p)") }
                        }
                        first += count
                        if filled == 0 { break }
                    }
                } catch let exit as ExitCode {
                    throw exit
                } catch {
                    Terminal.error("\(path): \(error)")
                    failed = true
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
