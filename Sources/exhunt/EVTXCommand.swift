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
            // A batch of chunks at a time: memory stays the same whatever the file's size. Each
            // worker reads the chunks it takes into its own buffer (read like evidence: read-only,
            // access time untouched), so reading is shared out too; chunks of a mixed log differ
            // much in work, so each takes the batch's next chunk as it frees up. Chunks are
            // printed in file order after each batch.
            let chunkSize = EVTXFile.chunkSize
            let batch = max(64, workers * 16)
            for path in files {
                do {
                    let file = try EvidenceFile(path: path)
                    var header = [UInt8](repeating: 0, count: EVTXFile.headerSize)
                    let got = try header.withUnsafeMutableBytes { try file.read(at: 0, into: $0) }
                    guard got == EVTXFile.headerSize, header.withUnsafeBytes({ EVTXFile.isEVTX($0) }) else {
                        Terminal.error("\(path): not an EVTX file (bad file signature)")
                        failed = true
                        continue
                    }
                    for p in header.withUnsafeBytes({ EVTXFile.fileHeaderProblems($0) }) { Terminal.error("\(path): \(p)") }
                    let chunks = (file.size - EVTXFile.headerSize + chunkSize - 1) / chunkSize
                    var first = 0
                    while first < chunks {
                        let count = min(batch, chunks - first)
                        let base = first
                        let next = ChunkCounter()
                        await withTaskGroup(of: Void.self) { group in
                            for worker in pool {
                                group.addTask {
                                    worker.start()
                                    while let i = next.take(below: count) {
                                        worker.render(file, index: i, chunk: base + i, fileOffset: EVTXFile.headerSize + (base + i) * chunkSize, xml: xml)
                                    }
                                }
                            }
                        }
                        var order = [(worker: DumpWorker, part: Int)?](repeating: nil, count: count)
                        for worker in pool { for (j, part) in worker.parts.enumerated() { order[part.index] = (worker, j) } }
                        for case let (worker, j)? in order {
                            let part = worker.parts[j]
                            do {
                                try worker.out.withUnsafeBytes { try Terminal.write(UnsafeRawBufferPointer(rebasing: $0[part.bytes])) }
                            } catch {
                                // Output that cannot be written (a full disk) must not pass for a short log.
                                Terminal.error("\(error)")
                                throw ExitCode(2)
                            }
                            for p in part.problems { Terminal.error("\(path): \(p)") }
                        }
                        first += count
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
    /// This batch's chunks, in the order rendered: which of the batch, where its output is, and its problems.
    var parts: [(index: Int, bytes: Range<Int>, problems: [EVTXProblem])] = []

    func start() {
        out.removeAll(keepingCapacity: true)
        parts.removeAll(keepingCapacity: true)
    }

    /// One chunk's bytes, read here.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: EVTXFile.chunkSize, alignment: 16)

    deinit { buffer.deallocate() }

    func render(_ file: EvidenceFile, index: Int, chunk number: Int, fileOffset: Int, xml: Bool) {
        let start = out.count
        let filled: Int
        do { filled = try file.read(at: fileOffset, into: buffer) } catch {
            parts.append((index, start..<start, [EVTXProblem(offset: fileOffset, chunk: number, recordID: nil, message: "cannot read: \(error)")]))
            return
        }
        let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<filled])
        let problems: [EVTXProblem]
        if xml {
            let parsed = EVTXFile.parseChunk(chunk, index: number, fileOffset: fileOffset, xml: true, cache: cache)
            for r in parsed.records { out += Array("<!-- record \(r.recordID) -->\n\(r.xml ?? "")".utf8) }
            problems = parsed.problems
        } else {
            problems = EVTXFile.jsonLines(chunk, index: number, fileOffset: fileOffset, cache: cache, appendingTo: &out)
        }
        parts.append((index, start..<out.count, problems))
    }
}

/// The next chunk of a batch for whichever worker asks first.
private final class ChunkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0

    func take(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}
