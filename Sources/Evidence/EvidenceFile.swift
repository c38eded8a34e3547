public import Foundation

/// One file named on the command line (not part of a collection), read like any evidence:
/// read-only and, where the system allows, without updating its access time. Read at offsets
/// by several threads at once into buffers of their own: nothing is mapped (unmapping costs
/// every core a TLB flush, a fifth of an EVTX dump's time in a virtual machine, `perf`:
/// smp_call_function_many_cond) and the copying is shared out among the readers.
public final class EvidenceFile: @unchecked Sendable {
    private let handle: Platform.ReadHandle
    private let path: String
    public let size: Int
    /// Windows reads at an offset by seeking the one handle: one reader at a time there.
    private let lock = NSLock()

    public init(path: String) throws {
        handle = try Platform.ReadHandle(path: path)
        self.path = path
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw EvidenceError(path: path, message: "not a regular file")
        }
        size = (attributes[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Fills `buffer` from `offset` (fewer bytes at the end of the file); returns how many.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset >= 0 else { return 0 }
        #if os(Windows)
        lock.lock()
        defer { lock.unlock() }
        #endif
        var filled = 0
        while filled < buffer.count {
            let got = try handle.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), at: UInt64(offset + filled))
            if got == 0 { break }
            filled += got
        }
        return filled
    }
}
