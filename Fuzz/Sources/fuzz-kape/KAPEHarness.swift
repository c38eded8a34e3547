import FuzzSupport
@testable import Evidence

/// KAPE copy logs (`*_CopyLog.csv`): the original file times of a collection.
func fuzzKAPE(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    let text = String(decoding: input, as: UTF8.self)
    var m = CollectionMetadata()
    m.addKapeCopyLog(text)
    _ = m.times(forWindowsPath: #"C:\inetpub\wwwroot\aspnet_client\shell.aspx"#)
    return 0
}
