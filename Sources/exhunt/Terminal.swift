import Foundation
import Hunt
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Terminal {
    enum Stream { case standardOutput, standardError }

    static func isTerminal(_ s: Stream) -> Bool {
        #if os(Windows)
        return false
        #else
        return isatty(s == .standardOutput ? 1 : 2) != 0
        #endif
    }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("exhunt: \(message)\n".utf8))
    }

    static func progress(_ p: HuntConfiguration.Progress) {
        let fraction = p.bytesTotal == 0 ? 1 : Double(p.bytesDone) / Double(p.bytesTotal)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = String(format: "\r[%@] %3.0f%%  %d/%d files  %.0f MB", bar, fraction * 100, p.filesDone, p.filesTotal,
                          Double(p.bytesDone) / 1e6)
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func clearProgress() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
