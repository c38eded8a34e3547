import FuzzSupport
import ExchangeLogs
import HuntCore

/// Exchange CSV, IIS W3C, IIS native, NCSA and plain text logs. The format is sniffed from the input as the hunt
/// does; the input is then read again as each of the formats (a file may lie about what it
/// is), fed in two pieces split where the first byte says, so lines across feeds are fuzzed too,
/// with literals and an indicator address to look for, some columns wanted, and the client
/// and identity columns counted.
func fuzzLogs(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    let sniffed = LogFormat.sniff(input)
    let split = size == 0 ? 0 : Int(input[0]) * size / 256
    for format in [sniffed, .exchangeCSV(logType: nil), .w3c, .text, .iisNative, .ncsa].compactMap({ $0 }) {
        var scanner = LogScanner(format: format, path: "fuzz.log", literals: ["ServerInfo~", "/ecp/", ".aspx"],
                                 addresses: ["203.0.113.7", "::1"], maxLineLength: 4096)
        scanner.wantedFields = ["anchormailbox", "urlstem", "cs-uri-stem", "c-ip", "clientipaddress", "message"]
        scanner.identityFields = ["serverhostname", "s-computername", "s-ip"]
        scanner.clientFields = ["clientipaddress", "c-ip"]
        var lines = 0
        scanner.feed(UnsafeRawBufferPointer(rebasing: input[..<split])) { _ in lines += 1 }
        scanner.feed(UnsafeRawBufferPointer(rebasing: input[split...])) { _ in lines += 1 }
        scanner.finish { _ in lines += 1 }
        _ = scanner.problems
        _ = scanner.clientAddresses()
    }
    return 0
}
