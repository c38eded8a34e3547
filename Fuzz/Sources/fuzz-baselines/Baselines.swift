import Foundation
import FuzzSupport
@testable import Baselines

/// Microsoft's baseline CSVs (SHA256,build,path), and files judged against what they list.
func fuzzBaselines(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    var b = ExchangeBaselines()
    b.add(csv: Data(input), label: "fuzz")
    let text = String(decoding: input.prefix(300), as: UTF8.self)
    for path in [#"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\logon.aspx"#, text, "ClientAccess\\" + text] {
        _ = b.judge(windowsPath: path, sha256: String(repeating: "a", count: 64), installed: [])
        _ = b.judge(windowsPath: path, sha256: "", installed: b.builds)
        _ = ExchangeBaselines.versionFolders(inWindowsPath: path)
    }
    _ = ExchangeBaselines.build(text)
    return 0
}
