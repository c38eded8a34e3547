#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
