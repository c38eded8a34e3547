import Foundation
import Hunt
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's standard streams. The platform calls of this module live here.
enum Terminal {
    enum Stream { case standardOutput, standardError }

    static func isTerminal(_ s: Stream) -> Bool {
        #if os(Windows)
        return false
        #else
        return isatty(s == .standardOutput ? 1 : 2) != 0
        #endif
    }

    /// A reader that goes away (`exhunt hunt --json - | head`) must give a write error, not kill
    /// the process with SIGPIPE before it can say anything.
    static func ignoreBrokenPipes() {
        #if !os(Windows)
        signal(SIGPIPE, SIG_IGN)
        #endif
    }

    /// Writes to standard output; a closed pipe or a full disk is an error the caller reports.
    static func write(_ data: Data) throws(OutputError) {
        #if os(Windows)
        do { try FileHandle.standardOutput.write(contentsOf: data) } catch { throw OutputError(underlying: "\(error)") }
        #else
        do { try data.withUnsafeBytes { try write($0) } } catch let e as OutputError { throw e } catch { throw OutputError(underlying: "\(error)") }
        #endif
    }

    /// Writes bytes to standard output where they lie (no copy into a `Data`: the dump writes
    /// hundreds of megabytes this way).
    static func write(_ bytes: UnsafeRawBufferPointer) throws(OutputError) {
        #if os(Windows)
        try write(Data(bytes))
        #else
        var rest = bytes
        while let base = rest.baseAddress, !rest.isEmpty {
            let n = Glibc.write(1, base, rest.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputError(underlying: String(cString: strerror(errno)))
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
        #endif
    }

    /// Messages on standard error: if even that cannot be written there is nobody to tell.
    static func error(_ message: String) {
        status("exhunt: \(message)\n")
    }

    static func status(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }

    static func progress(_ p: HuntConfiguration.Progress) {
        let fraction = p.bytesTotal == 0 ? 1 : Double(p.bytesDone) / Double(p.bytesTotal)
        let width = 30
        let filled = min(width, max(0, Int(fraction * Double(width))))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        status(String(format: "\r[%@] %3.0f%%  %d/%d files  %.0f MB", bar, fraction * 100, p.filesDone, p.filesTotal,
                      Double(p.bytesDone) / 1e6))
    }

    static func clearProgress() {
        status("\r\u{1B}[K")
    }
}

/// Output that could not be written (closed pipe, full disk): exit status 2 with this message.
struct OutputError: Error, CustomStringConvertible {
    var underlying: String
    var description: String { "cannot write the output: \(underlying)" }
}

/// Ctrl-C (SIGINT) or SIGTERM during a hunt: the first stops it cleanly (files under way finish,
/// the report is written and marked incomplete); a second ends the process at once.
final class Interrupts: @unchecked Sendable {
    #if !os(Windows)
    private let sources: [any DispatchSourceSignal]
    private static let signals = [SIGINT, SIGTERM]
    #endif

    /// Until `cancel()`, an interrupt cancels `cancellation`.
    init(stopping cancellation: HuntCancellation) {
        #if !os(Windows)
        sources = Self.signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                Terminal.status("\nexhunt: interrupted; finishing the files under way and writing what was found (again to stop at once)\n")
                for n in Self.signals { signal(n, SIG_DFL) }
                cancellation.cancel()
            }
            source.resume()
            return source
        }
        #endif
    }

    /// Back to the default handling.
    func cancel() {
        #if !os(Windows)
        for s in sources { s.cancel() }
        for n in Self.signals { signal(n, SIG_DFL) }
        #endif
    }
}
