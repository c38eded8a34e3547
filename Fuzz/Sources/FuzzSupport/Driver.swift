import CFuzzDriver
import Foundation

/// Runs libFuzzer with the process's arguments, calling `harness` with each input; never returns.
/// Every executable SwiftPM links has a main of its own, so libFuzzer is started from it rather
/// than supplying main itself.
public func fuzz(_ harness: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, harness))
}

/// The input as a buffer (libFuzzer passes no pointer for an empty input on some versions).
public func input(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    guard let data, size > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: data, count: size)
}
