#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thousands of concurrent connections (or listening sockets) need more descriptors than the usual
/// soft limit of 1024: raise the soft limit to the hard one.
public func raiseOpenFileLimit() {
    #if canImport(Glibc) || canImport(Darwin)
    #if canImport(Glibc)
    let resourceNoFile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    let resourceNoFile = RLIMIT_NOFILE
    #endif
    var limit = rlimit()
    guard getrlimit(resourceNoFile, &limit) == 0 else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(resourceNoFile, &limit)
    #endif
}
