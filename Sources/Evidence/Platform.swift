import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The only file with platform calls. Evidence is opened read-only and, where the system allows,
/// without updating access times (Linux `O_NOATIME`, which needs the file's owner or root; other
/// users fall back to a plain read-only open).
enum Platform {
    struct DirectoryEntry {
        enum Kind { case file, directory, symlink, other }
        var name: String
        var kind: Kind
        var size: UInt64
        var modified: Date?
    }

    #if os(Windows)
    final class ReadHandle {
        let handle: FileHandle

        init(path: String, directory: Bool = false) throws {
            guard let h = FileHandle(forReadingAtPath: path) else { throw PlatformError(path: path, errno: 2) }
            handle = h
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let data = try handle.read(upToCount: buffer.count) ?? Data()
            data.copyBytes(to: buffer.bindMemory(to: UInt8.self))
            return data.count
        }

        /// Reads at `offset` (the handle's position moves; callers that mix this with `read(into:)` don't).
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
            try handle.seek(toOffset: offset)
            return try read(into: buffer)
        }

        deinit { try? handle.close() }
    }

    static func list(_ path: String) throws -> [DirectoryEntry] {
        let fm = FileManager.default
        return try fm.contentsOfDirectory(atPath: path).map { name in
            let attrs = try fm.attributesOfItem(atPath: path + "\\" + name)
            let type = attrs[.type] as? FileAttributeType
            let kind: DirectoryEntry.Kind = type == .typeRegular ? .file : type == .typeDirectory ? .directory
                : type == .typeSymbolicLink ? .symlink : .other
            return DirectoryEntry(name: name, kind: kind, size: (attrs[.size] as? UInt64) ?? 0, modified: attrs[.modificationDate] as? Date)
        }.sorted { $0.name < $1.name }
    }
    #else
    #if os(Linux)
    static let noAtimeFlag: Int32 = 0o1000000 // O_NOATIME
    #else
    static let noAtimeFlag: Int32 = 0
    #endif

    final class ReadHandle {
        let fd: Int32

        init(path: String, directory: Bool = false) throws {
            let base = O_RDONLY | (directory ? O_DIRECTORY : 0)
            var fd = open(path, base | Platform.noAtimeFlag)
            if fd < 0 && errno == EPERM { fd = open(path, base) }
            guard fd >= 0 else { throw PlatformError(path: path, errno: errno) }
            self.fd = fd
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            while true {
                let n = Foundation.read(fd, buffer.baseAddress, buffer.count)
                if n >= 0 { return n }
                if errno != EINTR { throw PlatformError(path: "fd \(fd)", errno: errno) }
            }
        }

        /// Reads at `offset` without moving the handle's position.
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
            guard offset <= UInt64(Int64.max) else { return 0 }
            while true {
                let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
                if n >= 0 { return n }
                if errno != EINTR { throw PlatformError(path: "fd \(fd)", errno: errno) }
            }
        }

        deinit { close(fd) }
    }

    /// Lists a directory through a descriptor opened like a file, so listing does not update the
    /// directory's access time either.
    static func list(_ path: String) throws -> [DirectoryEntry] {
        let handle = try ReadHandle(path: path, directory: true)
        let dupfd = dup(handle.fd)
        guard dupfd >= 0, let dir = fdopendir(dupfd) else { throw PlatformError(path: path, errno: errno) }
        defer { closedir(dir) }
        var out: [DirectoryEntry] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var st = stat()
            guard fstatat(handle.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let fmt = st.st_mode & S_IFMT
            let kind: DirectoryEntry.Kind = fmt == S_IFREG ? .file : fmt == S_IFDIR ? .directory : fmt == S_IFLNK ? .symlink : .other
            #if canImport(Darwin)
            let mtime = Date(timeIntervalSince1970: Double(st.st_mtimespec.tv_sec) + Double(st.st_mtimespec.tv_nsec) / 1e9)
            #else
            let mtime = Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
            #endif
            out.append(DirectoryEntry(name: name, kind: kind, size: UInt64(st.st_size), modified: mtime))
        }
        return out.sorted { $0.name < $1.name }
    }
    #endif
}

struct PlatformError: Error, CustomStringConvertible {
    var path: String
    var errno: Int32
    var description: String { "\(path): \(String(cString: strerror(errno)))" }
}
