import Foundation
import Testing
import HuntCore
import Reports
import TestSupport

/// The JSON report as written to disk: its seen client addresses streamed one per line, read back
/// whole, and never a device or pipe replaced by a file.
final class LockedBox<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
}

@Suite(.timeLimit(.minutes(20))) struct JSONReportTests {
    static func withClients(_ n: Int) -> HostReport {
        var r = report(host: "EXCH01", verdict: .attempted, findings: sampleFindings)
        let hour = Date(timeIntervalSince1970: 1_614_556_800)
        r.clientAddresses = (0..<n).map { i in
            SeenAddress(address: "100.64.\(i / 250).\(i % 250)", first: hour, last: i % 3 == 0 ? hour.addingTimeInterval(3600) : hour,
                        lines: i % 5 == 0 ? 7 : 1)
        }
        r.clientAddresses.append(SeenAddress(address: "10.0.0.1", first: nil, last: nil, lines: 1))
        return r
    }

    /// The streamed file reads back as the report, and as the encoder would have written it.
    @Test func streamedReportReadsBackWhole() throws {
        let dir = try tempDir()
        let url = dir.appendingPathComponent("report.json")
        for n in [0, 1, 20_000] {
            let r = Self.withClients(n)
            try JSONReport.write(r, to: url)
            let back = try JSONReport.decode(Data(contentsOf: url))
            #expect(back.clientAddresses == r.clientAddresses)
            #expect(try JSONCoding.encoder(pretty: false).encode(back) == JSONCoding.encoder(pretty: false).encode(r))
            // Written again over itself: replaced, never left half-written or missing.
            try JSONReport.write(r, to: url)
            #expect(try JSONReport.decode(Data(contentsOf: url)).clientAddresses.count == n + 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["report.json"], "no temporary file left")
        // Defaults are left out: one hour and one line are the address alone.
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains("{\"address\":\"100.64.0.1\",\"first\":\"2021-03-01T00:00:00.000Z\"}"))
    }

    /// `-o` naming a pipe (or a device, such as /dev/null) writes into it; renaming a temporary
    /// file over it would have replaced it with a file.
    @Test func aPipeIsWrittenIntoNotReplaced() throws {
        let dir = try tempDir()
        let fifo = dir.appendingPathComponent("report.fifo")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let got = LockedBox(Data())
        let done = DispatchSemaphore(value: 0)
        // The reader drains the pipe to its end, so the writer never meets a closed pipe.
        Thread {
            if let h = FileHandle(forReadingAtPath: fifo.path) { got.set(h.readDataToEndOfFile()) }
            done.signal()
        }.start()
        let r = Self.withClients(100)
        try JSONReport.write(r, to: fifo)
        done.wait()
        let type = try FileManager.default.attributesOfItem(atPath: fifo.path)[.type] as? FileAttributeType
        #expect(type != nil && type != .typeRegular, "still a pipe")
        #expect(try JSONReport.decode(got.get()).clientAddresses == r.clientAddresses)
    }
}
