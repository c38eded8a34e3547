#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One of libyal's libraries opened with `dlopen` (why: `VShadowLibrary`), its functions found by name.
struct YalLibrary: @unchecked Sendable {
    /// libyal's handles and errors are `intptr_t` behind the pointer.
    typealias Handle = UnsafeMutablePointer<Int>
    typealias Err = UnsafeMutablePointer<Handle?>?

    typealias BFIOInitialize = @convention(c) (
        UnsafeMutablePointer<Handle?>?, Handle?,
        (@convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32)?,           // free the io handle
        (@convention(c) (UnsafeMutablePointer<Handle?>?, Handle?, Err) -> Int32)?,  // clone it
        (@convention(c) (Handle?, Int32, Err) -> Int32)?,                           // open
        (@convention(c) (Handle?, Err) -> Int32)?,                                  // close
        (@convention(c) (Handle?, UnsafeMutablePointer<UInt8>?, Int, Err) -> Int)?, // read
        (@convention(c) (Handle?, UnsafePointer<UInt8>?, Int, Err) -> Int)?,        // write
        (@convention(c) (Handle?, Int64, Int32, Err) -> Int64)?,                    // seek
        (@convention(c) (Handle?, Err) -> Int32)?,                                  // exists
        (@convention(c) (Handle?, Err) -> Int32)?,                                  // is open
        (@convention(c) (Handle?, UnsafeMutablePointer<UInt64>?, Err) -> Int32)?,   // size
        UInt8, Err) -> Int32
    let handle: UnsafeMutableRawPointer

    static func open(_ names: [String]) -> YalLibrary? {
        #if os(Linux)
        let flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND
        #else
        let flags = RTLD_NOW | RTLD_LOCAL
        #endif
        return names.lazy.compactMap { dlopen($0, flags) }.first.map(YalLibrary.init)
    }

    func symbol<T>(_ name: String) -> T? { dlsym(handle, name).map { unsafeBitCast($0, to: T.self) } }

    func close() { dlclose(handle) }
}

/// libvshadow, loaded with `dlopen` rather than linked. libyal's libraries each carry their own
/// copies of libcdata, libcerror and libbfio and export them: linked into the process beside
/// libewf (which TSK reads E01 through), one library's copies answered the other's calls, and
/// libewf freed a handle through another copy's code (a double free, found by the E01 tests).
/// Loaded `RTLD_LOCAL`, its symbols stay out of everyone else's lookups; with `RTLD_DEEPBIND`, it
/// finds its own copies first. Its functions are reached through these pointers only.
struct VShadowLibrary: @unchecked Sendable {
    typealias Handle = YalLibrary.Handle
    typealias Err = YalLibrary.Err

    typealias Free = @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32
    typealias Check = @convention(c) (Handle?, Err) -> Int32
    typealias Open = @convention(c) (Handle?, Handle?, Int32, Err) -> Int32
    typealias Count = @convention(c) (Handle?, UnsafeMutablePointer<Int32>?, Err) -> Int32
    typealias Get = @convention(c) (Handle?, Int32, UnsafeMutablePointer<Handle?>?, Err) -> Int32
    typealias Value = @convention(c) (Handle?, UnsafeMutablePointer<UInt64>?, Err) -> Int32
    typealias Read = @convention(c) (Handle?, UnsafeMutableRawPointer?, Int, Int64, Err) -> Int
    typealias ErrorFree = @convention(c) (Err) -> Void
    typealias ErrorText = @convention(c) (Handle?, UnsafeMutablePointer<CChar>?, Int) -> Int32

    let bfioHandleInitialize: YalLibrary.BFIOInitialize
    let bfioHandleFree: Free
    let checkSignature: Check
    let volumeInitialize: Free
    let volumeFree: Free
    let volumeOpen: Open
    let volumeClose: Check
    let numberOfStores: Count
    let getStore: Get
    let storeFree: Free
    let storeHasData: Check
    let storeCreationTime: Value
    let storeVolumeSize: Value
    let storeRead: Read
    let errorFree: ErrorFree
    let errorText: ErrorText

    /// nil when the library is not installed (Debian's libvshadow1).
    static let shared: VShadowLibrary? = load()

    static let names = ["libvshadow.so.1", "libvshadow.so", "libvshadow.1.dylib", "libvshadow.dylib"]

    private static func load() -> VShadowLibrary? {
        guard let lib = YalLibrary.open(names) else { return nil }
        func f<T>(_ name: String, as _: T.Type = T.self) -> T? { lib.symbol(name) }
        // libbfio's functions are found through libvshadow's own dependencies: the copy it uses.
        guard let bfioInit: YalLibrary.BFIOInitialize = f("libbfio_handle_initialize"), let bfioFree: Free = f("libbfio_handle_free"),
              let check: Check = f("libvshadow_check_volume_signature_file_io_handle"),
              let vInit: Free = f("libvshadow_volume_initialize"), let vFree: Free = f("libvshadow_volume_free"),
              let vOpen: Open = f("libvshadow_volume_open_file_io_handle"), let vClose: Check = f("libvshadow_volume_close"),
              let count: Count = f("libvshadow_volume_get_number_of_stores"), let get: Get = f("libvshadow_volume_get_store"),
              let sFree: Free = f("libvshadow_store_free"), let hasData: Check = f("libvshadow_store_has_in_volume_data"),
              let created: Value = f("libvshadow_store_get_creation_time"), let size: Value = f("libvshadow_store_get_volume_size"),
              let read: Read = f("libvshadow_store_read_buffer_at_offset"),
              let eFree: ErrorFree = f("libvshadow_error_free"), let eText: ErrorText = f("libvshadow_error_sprint")
        else {
            lib.close()
            return nil
        }
        return VShadowLibrary(bfioHandleInitialize: bfioInit, bfioHandleFree: bfioFree, checkSignature: check,
                              volumeInitialize: vInit, volumeFree: vFree, volumeOpen: vOpen, volumeClose: vClose,
                              numberOfStores: count, getStore: get, storeFree: sFree, storeHasData: hasData,
                              storeCreationTime: created, storeVolumeSize: size, storeRead: read, errorFree: eFree, errorText: eText)
    }
}

/// libregf (Debian's libregf1), for the SYSTEM hive's `MountedDevices`: loaded as libvshadow is.
/// The hive is read from memory through a `ByteSource`. (Not libbfio's own memory-range handle:
/// libbfio makes it by calling its exported `libbfio_handle_initialize`, which the process
/// resolves to libewf's older copy, and libregf then crashed on a handle of the wrong layout.)
struct RegfLibrary: @unchecked Sendable {
    typealias Handle = YalLibrary.Handle
    typealias Err = YalLibrary.Err

    let bfioHandleInitialize: YalLibrary.BFIOInitialize
    let bfioFree: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32
    let fileInitialize: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32
    let fileFree: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32
    let fileOpen: @convention(c) (Handle?, Handle?, Int32, Err) -> Int32
    let fileClose: @convention(c) (Handle?, Err) -> Int32
    let keyByPath: @convention(c) (Handle?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<Handle?>?, Err) -> Int32
    let keyFree: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32
    let valueCount: @convention(c) (Handle?, UnsafeMutablePointer<Int32>?, Err) -> Int32
    let value: @convention(c) (Handle?, Int32, UnsafeMutablePointer<Handle?>?, Err) -> Int32
    let valueFree: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32
    let nameSize: @convention(c) (Handle?, UnsafeMutablePointer<Int>?, Err) -> Int32
    let name: @convention(c) (Handle?, UnsafeMutablePointer<UInt8>?, Int, Err) -> Int32
    let dataSize: @convention(c) (Handle?, UnsafeMutablePointer<Int>?, Err) -> Int32
    let data: @convention(c) (Handle?, UnsafeMutablePointer<UInt8>?, Int, Err) -> Int32
    let errorFree: @convention(c) (Err) -> Void

    static let shared: RegfLibrary? = load()

    private static func load() -> RegfLibrary? {
        guard let lib = YalLibrary.open(["libregf.so.1", "libregf.so", "libregf.1.dylib", "libregf.dylib"]) else { return nil }
        guard let a: YalLibrary.BFIOInitialize = lib.symbol("libbfio_handle_initialize"),
              let c: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32 = lib.symbol("libbfio_handle_free"),
              let d: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32 = lib.symbol("libregf_file_initialize"),
              let e: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32 = lib.symbol("libregf_file_free"),
              let f: @convention(c) (Handle?, Handle?, Int32, Err) -> Int32 = lib.symbol("libregf_file_open_file_io_handle"),
              let g: @convention(c) (Handle?, Err) -> Int32 = lib.symbol("libregf_file_close"),
              let h: @convention(c) (Handle?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<Handle?>?, Err) -> Int32 = lib.symbol("libregf_file_get_key_by_utf8_path"),
              let i: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32 = lib.symbol("libregf_key_free"),
              let j: @convention(c) (Handle?, UnsafeMutablePointer<Int32>?, Err) -> Int32 = lib.symbol("libregf_key_get_number_of_values"),
              let k: @convention(c) (Handle?, Int32, UnsafeMutablePointer<Handle?>?, Err) -> Int32 = lib.symbol("libregf_key_get_value"),
              let l: @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32 = lib.symbol("libregf_value_free"),
              let m: @convention(c) (Handle?, UnsafeMutablePointer<Int>?, Err) -> Int32 = lib.symbol("libregf_value_get_utf8_name_size"),
              let n: @convention(c) (Handle?, UnsafeMutablePointer<UInt8>?, Int, Err) -> Int32 = lib.symbol("libregf_value_get_utf8_name"),
              let o: @convention(c) (Handle?, UnsafeMutablePointer<Int>?, Err) -> Int32 = lib.symbol("libregf_value_get_value_data_size"),
              let p: @convention(c) (Handle?, UnsafeMutablePointer<UInt8>?, Int, Err) -> Int32 = lib.symbol("libregf_value_get_value_data"),
              let q: @convention(c) (Err) -> Void = lib.symbol("libregf_error_free")
        else {
            lib.close()
            return nil
        }
        return RegfLibrary(bfioHandleInitialize: a, bfioFree: c, fileInitialize: d, fileFree: e, fileOpen: f, fileClose: g,
                           keyByPath: h, keyFree: i, valueCount: j, value: k, valueFree: l, nameSize: m, name: n, dataSize: o, data: p,
                           errorFree: q)
    }
}

/// Bytes given to a libyal library through a libbfio handle of its own libbfio copy (found by
/// `dlsym` through the library: a handle made by another copy is not one this copy can use).
/// `read` fills the buffer from an offset and returns how many bytes it gave (or -1).
final class ByteSource {
    let size: Int64
    var position: Int64 = 0
    let read: (Int64, UnsafeMutableRawBufferPointer) -> Int

    init(size: Int64, read: @escaping (Int64, UnsafeMutableRawBufferPointer) -> Int) {
        self.size = size
        self.read = read
    }

    /// libbfio's flag (its header's value): the io handle is ours to free, not libbfio's.
    static let ioHandleNotManaged: UInt8 = 0

    /// A libbfio handle reading this source; it must not outlive the source.
    func makeHandle(_ initialize: YalLibrary.BFIOInitialize) -> YalLibrary.Handle? {
        var handle: YalLibrary.Handle?
        let context = YalLibrary.Handle(OpaquePointer(Unmanaged.passUnretained(self).toOpaque()))
        let made = initialize(
            &handle, context,
            { _, _ in 1 },                      // free: the source's owner keeps it
            { _, _, _ in -1 },                  // clone: not needed
            { _, _, _ in 1 },                   // open
            { _, _ in 0 },                      // close
            { io, buffer, size, _ in            // read at the position
                guard let io, let buffer else { return -1 }
                let b = Unmanaged<ByteSource>.fromOpaque(UnsafeRawPointer(io)).takeUnretainedValue()
                let want = Int(min(Int64(size), max(0, b.size - b.position)))
                guard want > 0 else { return 0 }
                let n = b.read(b.position, UnsafeMutableRawBufferPointer(start: buffer, count: want))
                if n > 0 { b.position += Int64(n) }
                return n
            },
            { _, _, _, _ in -1 },               // write: never
            { io, offset, whence, _ in          // seek
                guard let io else { return -1 }
                let b = Unmanaged<ByteSource>.fromOpaque(UnsafeRawPointer(io)).takeUnretainedValue()
                let base: Int64 = whence == SEEK_CUR ? b.position : whence == SEEK_END ? b.size : 0
                let (target, overflow) = base.addingReportingOverflow(offset)
                guard !overflow, target >= 0 else { return -1 }
                b.position = target
                return target
            },
            { _, _ in 1 },                      // exists
            { _, _ in 1 },                      // is open
            { io, size, _ in                    // size
                guard let io, let size else { return -1 }
                size.pointee = UInt64(Unmanaged<ByteSource>.fromOpaque(UnsafeRawPointer(io)).takeUnretainedValue().size)
                return 1
            },
            Self.ioHandleNotManaged, nil)
        return made == 1 ? handle : nil
    }
}
