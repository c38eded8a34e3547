public import Foundation
import AsyncHTTPClient
import Crypto
public import NIOCore
import NIOHTTP1
import NIOSSL
import ZIPFoundation
import HuntCore

/// Downloads a pinned rule set over HTTPS (or takes an archive already on disk), checks it against
/// its pins, unpacks the taken files into a new folder of the cache and records it. Nothing is
/// installed unless every check passes; the set installed before stays until then.
public struct RuleUpdater: Sendable {
    public struct Limits: Sendable {
        /// The archive as downloaded (SigmaHQ's whole repository is some 40 MiB zipped).
        public var archiveBytes: UInt64 = 512 << 20
        /// Everything taken from it, and any one file.
        public var unpackedBytes: UInt64 = 1 << 30
        public var fileBytes: UInt64 = 64 << 20
        public var files = 100_000
        /// No byte for this long ends the download.
        public var readTimeout: TimeAmount = .seconds(60)
        public var wholeDownload: TimeAmount = .minutes(15)
        public init() {}
    }

    public var cache: RuleCache
    /// Extra PEM certificates to trust beside the system's (a proxy's or a test's own CA).
    public var trustedCertificates: String?
    public var limits = Limits()

    public init(cache: RuleCache, trustedCertificates: String? = nil) {
        self.cache = cache
        self.trustedCertificates = trustedCertificates
    }

    public struct Outcome: Sendable {
        public var installed: RuleCache.Installed
        /// The set was already installed with this pin; nothing was downloaded.
        public var upToDate: Bool
    }

    /// Brings `source` into the cache. `archive` is a copy of the release on disk (for machines
    /// without a way out); without it the release is downloaded. `force` downloads again even
    /// when the pinned set is already installed.
    public func update(_ source: RuleSource, archive: URL? = nil, force: Bool = false) async throws -> Outcome {
        try FileManager.default.createDirectory(at: cache.root, withIntermediateDirectories: true)
        if !force, let current = try cache.installed().first(where: { $0.name == source.name }), isPinned(current, by: source),
           FileManager.default.fileExists(atPath: cache.folder(of: current).path) {
            return Outcome(installed: current, upToDate: true)
        }
        let token = UUID().uuidString
        let download = cache.root.appendingPathComponent(".download-\(source.name)-\(token).zip")
        let staging = cache.root.appendingPathComponent(".staging-\(source.name)-\(token)", isDirectory: true)
        defer {
            try? FileManager.default.removeItem(at: download)
            try? FileManager.default.removeItem(at: staging)
        }
        let archiveFile: URL
        let archiveSHA256: String
        if let archive {
            archiveFile = archive
            archiveSHA256 = try Self.sha256(of: archive)
        } else {
            archiveSHA256 = try await fetch(source.url, to: download)
            archiveFile = download
        }
        if let pin = source.sha256, pin != archiveSHA256 {
            throw UpdateError.verification("\(source.name): the archive's SHA-256 is \(archiveSHA256), the pin is \(pin)")
        }
        let unpacked = try unpack(archiveFile, source, into: staging)
        let content = ContentDigest.of(unpacked.files)
        if let pin = source.contentSHA256, pin != content {
            throw UpdateError.verification("\(source.name): the taken files' SHA-256 is \(content), the pin is \(pin)")
        }
        let folderName = "\(source.name)-\(source.version.prefix(12))-\(content.prefix(12))"
        let folder = cache.root.appendingPathComponent(folderName, isDirectory: true)
        if FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
        try FileManager.default.moveItem(at: staging, to: folder)
        let set = RuleCache.Installed(source: source, archiveSHA256: archiveSHA256, contentSHA256: content, folder: folderName,
                                      installedAt: Date(), files: unpacked.files.count, bytes: unpacked.bytes)
        if let previous = try cache.record(set), previous.folder != folderName {
            try? FileManager.default.removeItem(at: cache.folder(of: previous))
        }
        return Outcome(installed: set, upToDate: false)
    }

    /// Whether an installed set is what the source pins now.
    func isPinned(_ set: RuleCache.Installed, by source: RuleSource) -> Bool {
        set.source.version == source.version && set.source.take == source.take
            && (source.sha256.map { $0 == set.archiveSHA256 } ?? true)
            && (source.contentSHA256.map { $0 == set.contentSHA256 } ?? true)
    }

    // MARK: Download

    /// Streams `url` into `file`, hashing as it goes; returns the SHA-256. Redirects are followed
    /// (GitHub's archives redirect to codeload), HTTPS only.
    func fetch(_ url: String, to file: URL) async throws -> String {
        guard URL(string: url)?.scheme?.lowercased() == "https" else { throw UpdateError.download("\(url): only https:// is fetched") }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trustedCertificates { tls.additionalTrustRoots = [.file(trustedCertificates)] }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .follow(max: 5, allowCycles: false),
                                                     timeout: .init(connect: .seconds(15), read: limits.readTimeout))
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let digest = try await fetch(url, to: file, with: client)
            try await client.shutdown()
            return digest
        } catch {
            try? await client.shutdown()
            if let e = error as? UpdateError { throw e }
            throw UpdateError.download("\(url): \(error)")
        }
    }

    private func fetch(_ url: String, to file: URL, with client: HTTPClient) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "exhunt-rules-update")
        let response = try await client.execute(request, timeout: limits.wholeDownload)
        guard response.status == .ok else { throw UpdateError.download("\(url): the server answered \(response.status.code)") }
        if let length = response.headers.first(name: "content-length").flatMap(UInt64.init), length > limits.archiveBytes {
            throw UpdateError.download("\(url): \(length) bytes, more than the \(limits.archiveBytes >> 20) MiB an archive may have")
        }
        guard FileManager.default.createFile(atPath: file.path, contents: nil), let out = FileHandle(forWritingAtPath: file.path) else {
            throw UpdateError.cache("cannot write \(file.path)")
        }
        defer { try? out.close() }
        var hasher = SHA256()
        var received: UInt64 = 0
        for try await buffer in response.body {
            received += UInt64(buffer.readableBytes)
            guard received <= limits.archiveBytes else {
                throw UpdateError.download("\(url): more than the \(limits.archiveBytes >> 20) MiB an archive may have")
            }
            try buffer.withUnsafeReadableBytes { bytes in
                hasher.update(bufferPointer: bytes)
                try out.write(contentsOf: Data(bytes))
            }
        }
        return Self.hex(hasher.finalize())
    }

    // MARK: Unpack

    /// Writes the archive's taken regular files under `folder`, each checked for its path and
    /// bounded in size; returns their paths with SHA-256 (for the content digest).
    func unpack(_ archiveFile: URL, _ source: RuleSource, into folder: URL) throws -> (files: [(path: String, sha256: String)], bytes: UInt64) {
        let archive: Archive
        do { archive = try Archive(url: archiveFile, accessMode: .read) } catch {
            throw UpdateError.archive("\(archiveFile.lastPathComponent) is not a readable zip (\(error))")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [(path: String, sha256: String)] = []
        var seen = Set<String>()
        var total: UInt64 = 0
        for entry in archive {
            guard let member = MemberPath.strip(entry.path, source.strip), source.take(for: member) != nil else { continue }
            // Links could point out of the cache; folders are made as files need them.
            guard entry.type == .file else { continue }
            guard MemberPath.isSafe(member), !member.hasSuffix("/") else { throw UpdateError.archive("member '\(entry.path)' would leave its folder") }
            guard seen.insert(member).inserted else { throw UpdateError.archive("member '\(member)' is in the archive twice") }
            guard files.count < limits.files else { throw UpdateError.archive("more than \(limits.files) files to take") }
            let target = folder.appendingPathComponent(member)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: target.path, contents: nil), let out = FileHandle(forWritingAtPath: target.path) else {
                throw UpdateError.cache("cannot write \(target.path)")
            }
            defer { try? out.close() }
            var hasher = SHA256()
            var size: UInt64 = 0
            do {
                _ = try archive.extract(entry, bufferSize: 64 << 10, skipCRC32: false) { data in
                    size += UInt64(data.count)
                    total += UInt64(data.count)
                    guard size <= limits.fileBytes, total <= limits.unpackedBytes else {
                        throw UpdateError.archive("'\(member)' or the whole set inflates past its bound (\(limits.fileBytes >> 20) MiB a file, \(limits.unpackedBytes >> 20) MiB in all)")
                    }
                    hasher.update(data: data)
                    try out.write(contentsOf: data)
                }
            } catch let e as UpdateError {
                throw e
            } catch {
                throw UpdateError.archive("'\(entry.path)' cannot be read: \(error)")
            }
            files.append((member, Self.hex(hasher.finalize())))
        }
        for t in source.take where !t.isFolder && !seen.contains(t.path) {
            throw UpdateError.archive("'\(t.path)' is not in the archive")
        }
        for t in source.take where t.isFolder && !seen.contains(where: { $0.hasPrefix(t.path) }) {
            throw UpdateError.archive("nothing under '\(t.path)' in the archive")
        }
        return (files, total)
    }

    static func sha256(of file: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw UpdateError.archive("cannot read \(file.path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hex(hasher.finalize())
    }

    static func hex<D: Sequence<UInt8>>(_ bytes: D) -> String { Hex.encode(bytes) }
}

/// The pin of a set's content: SHA-256 over `sha256sum`'s lines for its files, sorted by path
/// byte by byte, so that `(find …) | LC_ALL=C sort | xargs sha256sum | sha256sum` reproduces it.
public enum ContentDigest {
    public static func of(_ files: [(path: String, sha256: String)]) -> String {
        var hasher = SHA256()
        for f in files.sorted(by: { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }) {
            hasher.update(data: Data("\(f.sha256)  \(f.path)\n".utf8))
        }
        return RuleUpdater.hex(hasher.finalize())
    }
}
