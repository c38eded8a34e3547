public import Foundation

/// One file named on the command line (not part of a collection), read like any evidence:
/// read-only and, where the system allows, without updating its access time. A big file is read
/// a window at a time, mapped where the system allows (no copy) and read otherwise.
public final class EvidenceFile {
    private let handle: Platform.ReadHandle
    private let path: String
    public let size: Int
    /// How far sequential reads (the fallback when mapping fails) have got.
    private var position = 0

    public init(path: String) throws {
        handle = try Platform.ReadHandle(path: path)
        self.path = path
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw EvidenceError(path: path, message: "not a regular file")
        }
        size = (attributes[.size] as? NSNumber)?.intValue ?? 0
    }

    private var reused: UnsafeMutableRawBufferPointer?

    deinit { reused?.deallocate() }

    /// The next `count` bytes (fewer at the end of the file), read into one buffer that this
    /// file keeps and overwrites at the next call: for a reader that is done with a window
    /// before it asks for the next. Nothing is mapped or allocated per window: unmapping a
    /// window costs every core a TLB flush, which in a virtual machine took a fifth of an EVTX
    /// dump's time (`perf`: smp_call_function_many_cond).
    public func next(_ count: Int) throws -> UnsafeRawBufferPointer {
        let n = max(0, min(count, size - position))
        if reused.map({ $0.count < n }) ?? true {
            reused?.deallocate()
            reused = .allocate(byteCount: max(n, 1), alignment: 16)
        }
        guard let buffer = reused, n > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        var filled = 0
        while filled < n {
            let got = try handle.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<n]))
            if got == 0 { break }
            filled += got
        }
        position += filled
        return UnsafeRawBufferPointer(rebasing: buffer[0..<filled])
    }

    /// Bytes `offset..<offset + count` (fewer at the end of the file). Windows must be asked for
    /// front to back, without gaps or overlaps: the fallback reads the file in order.
    public func window(at offset: Int, count: Int) throws -> EvidenceWindow {
        let n = max(0, min(count, size - offset))
        guard n > 0 else { return EvidenceWindow(bytes: UnsafeRawBufferPointer(start: nil, count: 0), owner: nil) }
        if let region = handle.map(offset: offset, count: n) {
            return EvidenceWindow(bytes: region.bytes, owner: region)
        }
        guard offset == position else {
            throw EvidenceError(path: path, message: "windows out of order (at \(offset), read up to \(position))")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 16)
        var filled = 0
        while filled < n {
            let got = try handle.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if got == 0 { break }
            filled += got
        }
        position += filled
        return EvidenceWindow(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), owner: HeapBytes(buffer))
    }
}

/// Part of an evidence file in memory, released with the window. Its bytes never change, so
/// threads may read them together.
public final class EvidenceWindow: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer
    private let owner: AnyObject?

    init(bytes: UnsafeRawBufferPointer, owner: AnyObject?) {
        self.bytes = bytes
        self.owner = owner
    }
}

private final class HeapBytes {
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
    deinit { buffer.deallocate() }
}
