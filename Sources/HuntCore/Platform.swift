public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// HuntCore's platform call, shared by every module that rewrites a file others may be reading
/// (the report as the hunt goes, the rule cache's record): an atomic rename. Foundation's
/// `replaceItemAt` on Linux fails when the destination does not exist and can lose it when it
/// fails.
public enum FileReplacement {
    /// Puts `source` at `destination`, replacing what is there in one step where the system can.
    public static func replace(_ destination: URL, with source: URL) throws {
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
