import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The module's platform call: an atomic rename (Foundation's `replaceItemAt` on Linux loses the
/// destination when it fails, and a report rewritten as the hunt goes must never be missing).
enum Platform {
    /// Puts `source` at `destination`, replacing what is there in one step where the system can.
    static func replace(_ destination: URL, with source: URL) throws {
        #if os(Windows)
        if FileManager.default.fileExists(atPath: destination.path) {
            _ = try FileManager.default.replaceItemAt(destination, withItemAt: source)
        } else {
            try FileManager.default.moveItem(at: source, to: destination)
        }
        #else
        guard rename(source.path, destination.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination.path,
                                                           NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)])
        }
        #endif
    }
}
