import FuzzSupport
import Baselines

/// PE version resources: headers, section table and resource tree from hostile bytes.
func fuzzPE(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    if case .success(let v) = PEVersion.parse(Array(input)) { _ = v.file + v.product }
    return 0
}
