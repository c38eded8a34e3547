#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thousands of listening sockets need more descriptors than the usual soft limit.
func raiseOpenFileLimit() {
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

/// A parent (a test runner) may have spawned us with signals blocked; a server must still stop on SIGTERM and SIGINT.
func unblockTerminationSignals() {
    #if canImport(Glibc) || canImport(Darwin)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGTERM)
    sigaddset(&set, SIGINT)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    #endif
}
