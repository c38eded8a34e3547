import Foundation

/// The module's platform call: where a user's caches live (the atomic rename is HuntCore's `FileReplacement`).
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
}
