import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The only file with platform calls. Evidence is opened read-only and, where the system allows,
/// without updating access times (Linux `O_NOATIME`, which needs the file's owner or root; we
/// fall back to a plain read-only open and say so once).
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
        func map(size: Int) -> UnsafeRawBufferPointer? { nil }
        static func unmap(_ region: UnsafeRawBufferPointer) {}
        init(path: String) throws { guard let h = FileHandle(forReadingAtPath: path) else { throw PlatformError(path: path, errno: 2) }; handle = h }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let data = try handle.read(upToCount: buffer.count) ?? Data()
            data.copyBytes(to: buffer.bindMemory(to: UInt8.self))
            return data.count
        }
        deinit { try? handle.close() }
    }

    static func list(_ path: String) throws -> [DirectoryEntry] {
        let fm = FileManager.default
        return try fm.contentsOfDirectory(atPath: path).map { name in
            let attrs = try fm.attributesOfItem(atPath: path + "\\" + name)
            let type = attrs[.type] as? FileAttributeType
            let kind: DirectoryEntry.Kind = type == .typeRegular ? .file : type == .typeDirectory ? .directory : type == .typeSymbolicLink ? .symlink : .other
            return DirectoryEntry(name: name, kind: kind, size: (attrs[.size] as? UInt64) ?? 0, modified: attrs[.modificationDate] as? Date)
        }
    }
    static let noAtimeSupported = false
    #else
    #if os(Linux)
    static let noAtimeFlag: Int32 = 0o1000000 // O_NOATIME
    #else
    static let noAtimeFlag: Int32 = 0
    #endif
    static let noAtimeSupported = noAtimeFlag != 0

    final class ReadHandle {
        let fd: Int32
        /// Whether the open kept access times untouched.
        let noAtime: Bool

        init(path: String, directory: Bool = false) throws {
            let base = O_RDONLY | (directory ? O_DIRECTORY : 0)
            var fd = open(path, base | Platform.noAtimeFlag)
            var noAtime = Platform.noAtimeSupported
            if fd < 0 && errno == EPERM {
                fd = open(path, base)
                noAtime = false
            }
            guard fd >= 0 else { throw PlatformError(path: path, errno: errno) }
            self.fd = fd
            self.noAtime = noAtime
        }

        /// Maps `size` bytes read-only, or returns nil (empty file, special file, no memory map),
        /// in which case the caller reads instead.
        func map(size: Int) -> UnsafeRawBufferPointer? {
            // Never map past the file's current end: touching such pages would raise SIGBUS.
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) == size else { return nil }
            guard size > 0, let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { return nil }
            _ = madvise(p, size, MADV_SEQUENTIAL)
            return UnsafeRawBufferPointer(start: p, count: size)
        }

        static func unmap(_ region: UnsafeRawBufferPointer) {
            _ = munmap(UnsafeMutableRawPointer(mutating: region.baseAddress), region.count)
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            while true {
                let n = Foundation.read(fd, buffer.baseAddress, buffer.count)
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
