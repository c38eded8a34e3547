#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libvshadow, loaded with `dlopen` rather than linked. libyal's libraries each carry their own
/// copies of libcdata, libcerror and libbfio and export them: linked into the process beside
/// libewf (which TSK reads E01 through), one library's copies answered the other's calls, and
/// libewf freed a handle through another copy's code (a double free, found by the E01 tests).
/// Loaded `RTLD_LOCAL`, its symbols stay out of everyone else's lookups; with `RTLD_DEEPBIND`, it
/// finds its own copies first. Its functions are reached through these pointers only.
struct VShadowLibrary: @unchecked Sendable {
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
    typealias Free = @convention(c) (UnsafeMutablePointer<Handle?>?, Err) -> Int32
    typealias Check = @convention(c) (Handle?, Err) -> Int32
    typealias Open = @convention(c) (Handle?, Handle?, Int32, Err) -> Int32
    typealias Count = @convention(c) (Handle?, UnsafeMutablePointer<Int32>?, Err) -> Int32
    typealias Get = @convention(c) (Handle?, Int32, UnsafeMutablePointer<Handle?>?, Err) -> Int32
    typealias Value = @convention(c) (Handle?, UnsafeMutablePointer<UInt64>?, Err) -> Int32
    typealias Read = @convention(c) (Handle?, UnsafeMutableRawPointer?, Int, Int64, Err) -> Int
    typealias ErrorFree = @convention(c) (Err) -> Void
    typealias ErrorText = @convention(c) (Handle?, UnsafeMutablePointer<CChar>?, Int) -> Int32

    let bfioHandleInitialize: BFIOInitialize
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
        #if os(Linux)
        let flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND
        #else
        let flags = RTLD_NOW | RTLD_LOCAL
        #endif
        guard let lib = names.lazy.compactMap({ dlopen($0, flags) }).first else { return nil }
        func f<T>(_ name: String, as _: T.Type = T.self) -> T? {
            dlsym(lib, name).map { unsafeBitCast($0, to: T.self) }
        }
        // libbfio's functions are found through libvshadow's own dependencies: the copy it uses.
        guard let bfioInit: BFIOInitialize = f("libbfio_handle_initialize"), let bfioFree: Free = f("libbfio_handle_free"),
              let check: Check = f("libvshadow_check_volume_signature_file_io_handle"),
              let vInit: Free = f("libvshadow_volume_initialize"), let vFree: Free = f("libvshadow_volume_free"),
              let vOpen: Open = f("libvshadow_volume_open_file_io_handle"), let vClose: Check = f("libvshadow_volume_close"),
              let count: Count = f("libvshadow_volume_get_number_of_stores"), let get: Get = f("libvshadow_volume_get_store"),
              let sFree: Free = f("libvshadow_store_free"), let hasData: Check = f("libvshadow_store_has_in_volume_data"),
              let created: Value = f("libvshadow_store_get_creation_time"), let size: Value = f("libvshadow_store_get_volume_size"),
              let read: Read = f("libvshadow_store_read_buffer_at_offset"),
              let eFree: ErrorFree = f("libvshadow_error_free"), let eText: ErrorText = f("libvshadow_error_sprint")
        else {
            dlclose(lib)
            return nil
        }
        return VShadowLibrary(bfioHandleInitialize: bfioInit, bfioHandleFree: bfioFree, checkSignature: check,
                              volumeInitialize: vInit, volumeFree: vFree, volumeOpen: vOpen, volumeClose: vClose,
                              numberOfStores: count, getStore: get, storeFree: sFree, storeHasData: hasData,
                              storeCreationTime: created, storeVolumeSize: size, storeRead: read, errorFree: eFree, errorText: eText)
    }
}
