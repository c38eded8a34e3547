public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process leading a process group of its own (Foundation's Process starts children as
/// group leaders), so the test can kill it the way a machine dies: the worker, its pool
/// processes and the exhunt they run, all at once.
public final class Child {
    public let process = Process()
    public let log: URL

    public init(_ arguments: [String], environment: [String: String], log: URL) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = testEnvironment(environment)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // What the kill relies on.
        if processGroup(of: process.processIdentifier) != process.processIdentifier { setpgid(process.processIdentifier, 0) }
    }

    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    public func waitFor(_ text: String, seconds: Double) throws {
        let end = Date().addingTimeInterval(seconds)
        while !output.contains(text) {
            guard Date() < end, process.isRunning else { throw Stuck(what: "\(text) not seen", output: String(output.suffix(3_000))) }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// SIGKILL to the whole group.
    public func killGroup() {
        kill(-process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { killGroup() }
    }
}

public struct Stuck: Error, CustomStringConvertible {
    public var what: String
    public var output: String
    public init(what: String, output: String) {
        self.what = what
        self.output = output
    }
    public var description: String { "\(what)\n\(output)" }
}

/// /proc/PID/stat's fifth field: the process group.
public func processGroup(of pid: Int32) -> Int32? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 2 ? Int32(fields[2]) : nil
}

