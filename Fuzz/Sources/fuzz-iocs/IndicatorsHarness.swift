import FuzzSupport
import Foundation
@testable import Indicators

/// Indicator files: the first byte picks the reader (CSV with a header or a plain list, STIX 2.1
/// JSON, CHIRP YAML), the rest is the file. What loads is looked up as the hunt does.
func fuzzIndicators(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    guard let selector = input.first else { return 0 }
    let text = String(decoding: input.dropFirst(), as: UTF8.self)
    let set: IndicatorSet
    switch selector % 3 {
    case 0: set = IndicatorLoader.csv(text, "fuzz.csv").0
    case 1: guard let r = try? IndicatorLoader.stix(text, "fuzz.json") else { return 0 }; set = r.0
    default: guard let r = try? IndicatorLoader.chirp(text, "fuzz.yaml") else { return 0 }; set = r.0
    }
    _ = set.ipValues
    for i in set.all.prefix(32) {
        _ = set.lookup(i.kind, i.value)
        _ = set.matchFile(windowsPath: i.value)
    }
    return 0
}
