import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The module's platform calls: where a user's caches live, and an atomic rename.
enum Platform {
    static func userCacheFolder() -> URL {
        let env = ProcessInfo.processInfo.environment
        #if os(Windows)
        if let local = env["LOCALAPPDATA"], !local.isEmpty { return URL(fileURLWithPath: local, isDirectory: true) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent("AppData/Local", isDirectory: true)
        #elseif os(macOS)
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent("Library/Caches", isDirectory: true)
        #else
        if let xdg = env["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return URL(fileURLWithPath: xdg, isDirectory: true) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache", isDirectory: true)
        #endif
    }

    /// Puts `source` at `destination`, replacing what is there in one step where the system can.
    static func replace(_ destination: URL, with source: URL) throws {
        #if os(Windows)
        if FileManager.default.fileExists(atPath: destination.path) {
            _ = try FileManager.default.replaceItemAt(destination, withItemAt: source)
        } else {
            try FileManager.default.moveItem(at: source, to: destination)
        }
        #else
        // rename(2) replaces the destination atomically.
        guard rename(source.path, destination.path) == 0 else {
            throw UpdateError.cache("cannot rename \(source.path) to \(destination.path): errno \(errno)")
        }
        #endif
    }
}
