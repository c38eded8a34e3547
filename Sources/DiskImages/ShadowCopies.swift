import CTSK
import Foundation
import HuntCore

/// A volume's shadow copies (Windows' Volume Shadow Copy Service stores), read with libvshadow
/// from the volume's bytes as TSK reads them from the image (any container), and each given back
/// to TSK as an image of its own, so a store's file system is walked and read as a live volume is.
/// The handles are kept together and released in the order they depend on each other.
final class ShadowCopies {
    typealias Handle = YalLibrary.Handle

    /// One store, as TSK's read callback finds it: behind the image structure TSK was given.
    final class StoreBytes {
        let library: VShadowLibrary
        let store: Handle
        init(library: VShadowLibrary, store: Handle) {
            self.library = library
            self.store = store
        }
    }

    struct Store {
        var index: Int
        var created: Date?
        var image: UnsafeMutablePointer<TSK_IMG_INFO>
        var fileSystem: UnsafeMutablePointer<TSK_FS_INFO>
    }

    private let library: VShadowLibrary
    private var bytes: ByteSource?
    private var handle: Handle?
    private var volume: Handle?
    private var storeHandles: [Handle] = []
    private(set) var stores: [Store] = []

    /// Most stores read per volume (Windows keeps at most 64; a crafted catalog can claim more).
    static let maxStores = 64
    /// libvshadow's flag (its header's value): read access.
    static let accessRead: Int32 = 1

    /// nil when the volume has no shadow copies (or libvshadow cannot read their catalog: said in `problems`).
    init?(image: UnsafeMutablePointer<TSK_IMG_INFO>, offset: UInt64, size: UInt64, label: String, problems: inout [String]) {
        guard let library = VShadowLibrary.shared else { return nil }
        self.library = library
        // The volume's bytes, read through the image's TSK handle at the volume's offset.
        let start = Int64(clamping: offset)
        let bytes = ByteSource(size: Int64(clamping: size)) { at, buffer in
            tsk_img_read(image, start + at, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
        }
        self.bytes = bytes
        let handle = bytes.makeHandle(library.bfioHandleInitialize)
        guard let handle else { return nil }
        self.handle = handle
        guard library.checkSignature(handle, nil) == 1 else {
            release()
            return nil
        }
        var volume: Handle?
        var error: Handle?
        guard library.volumeInitialize(&volume, nil) == 1, let volume else { release(); return nil }
        self.volume = volume
        guard library.volumeOpen(volume, handle, Self.accessRead, &error) == 1 else {
            problems.append("\(label): its shadow copies' catalog cannot be read: \(message(&error))")
            release()
            return nil
        }
        var count: Int32 = 0
        _ = library.numberOfStores(volume, &count, nil)
        if count > Int32(Self.maxStores) {
            problems.append("\(label): \(count) shadow copies claimed; the first \(Self.maxStores) are read")
        }
        for i in 0..<min(max(0, Int(count)), Self.maxStores) {
            var store: Handle?
            guard library.getStore(volume, Int32(i), &store, &error) == 1, let store else {
                problems.append("\(label): shadow copy \(i + 1) cannot be opened: \(message(&error))")
                continue
            }
            storeHandles.append(store)
            guard library.storeHasData(store, nil) == 1 else {
                problems.append("\(label): shadow copy \(i + 1) has no data in this volume (its differences lie elsewhere); not read")
                continue
            }
            var filetime: UInt64 = 0
            let created = library.storeCreationTime(store, &filetime, nil) == 1 ? FileTime.date(filetime) : nil
            var storeSize: UInt64 = 0
            _ = library.storeVolumeSize(store, &storeSize, nil)
            guard let img = Self.externalImage(StoreBytes(library: library, store: store), size: storeSize) else { continue }
            tsk_error_reset()
            guard let fs = tsk_fs_open_img(img, 0, TSK_FS_TYPE_DETECT) else {
                problems.append("\(label): shadow copy \(i + 1): no file system TSK can read in it: \(DiskImage.lastError())")
                tsk_img_close(img)
                continue
            }
            stores.append(Store(index: i + 1, created: created, image: img, fileSystem: fs))
        }
        if stores.isEmpty && storeHandles.isEmpty {
            release()
            return nil
        }
    }

    deinit { release() }

    /// TSK's image structure for a store, its read callback reading the store through libvshadow.
    /// The structure is ours (TSK's "external" images): allocated here, the store's reader kept
    /// just past it, both freed by the close callback TSK calls from `tsk_img_close`.
    private static func externalImage(_ store: StoreBytes, size: UInt64) -> UnsafeMutablePointer<TSK_IMG_INFO>? {
        let layout = MemoryLayout<TSK_IMG_INFO>.stride
        let total = layout + MemoryLayout<UnsafeRawPointer>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: total)
        raw.storeBytes(of: Unmanaged.passRetained(store).toOpaque(), toByteOffset: layout, as: UnsafeMutableRawPointer.self)
        let img = tsk_img_open_external(raw, TSK_OFF_T(clamping: size), 512, { img, offset, buffer, length in
            guard let img, let buffer else { return -1 }
            let context = UnsafeRawPointer(img).load(fromByteOffset: MemoryLayout<TSK_IMG_INFO>.stride, as: UnsafeRawPointer.self)
            let store = Unmanaged<StoreBytes>.fromOpaque(context).takeUnretainedValue()
            return store.library.storeRead(store.store, buffer, length, offset, nil)
        }, { img in
            guard let img else { return }
            let raw = UnsafeMutableRawPointer(img)
            let context = raw.load(fromByteOffset: MemoryLayout<TSK_IMG_INFO>.stride, as: UnsafeRawPointer.self)
            Unmanaged<StoreBytes>.fromOpaque(context).release()
            raw.deallocate()
        }, { _, _ in })
        if img == nil {
            Unmanaged<StoreBytes>.fromOpaque(raw.load(fromByteOffset: layout, as: UnsafeRawPointer.self)).release()
            raw.deallocate()
        }
        return img
    }

    /// Closes every handle, the stores' file systems first and the volume's byte source last.
    /// Idempotent (a failed init releases, and deinit runs after it).
    func release() {
        for s in stores {
            tsk_fs_close(s.fileSystem)
            tsk_img_close(s.image)
        }
        stores.removeAll()
        for s in storeHandles {
            var h: Handle? = s
            _ = library.storeFree(&h, nil)
        }
        storeHandles.removeAll()
        if volume != nil {
            _ = library.volumeClose(volume, nil)
            _ = library.volumeFree(&volume, nil)
            volume = nil
        }
        if handle != nil {
            _ = library.bfioHandleFree(&handle, nil)
            handle = nil
        }
        bytes = nil
    }

    /// libvshadow's error as one line, and the error freed.
    private func message(_ error: inout Handle?) -> String {
        guard let e = error else { return "unknown error" }
        var text = [CChar](repeating: 0, count: 512)
        _ = library.errorText(e, &text, text.count)
        library.errorFree(&error)
        error = nil
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: "\n").first.map(String.init) ?? "unknown error"
    }
}
