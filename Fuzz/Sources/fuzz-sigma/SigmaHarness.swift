import FuzzSupport
import Foundation
import HuntCore
import Sigma

/// Sigma rule loading: the input is a rule's YAML. A rule that loads is matched against an event
/// made of the same text, in every field it reads and as the raw line.
func fuzzSigma(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    let text = String(decoding: input, as: UTF8.self)
    let loader = RuleLoader(placeholders: ["Workstations": ["ws1", "ws*"]])
    guard let rule = try? loader.load(yaml: text, file: "fuzz.yml") else { return 0 }
    var event = Event(source: .httpProxy, timestamp: nil, location: EvidenceLocation(path: "fuzz.log", line: 1),
                      raw: String(text.prefix(4096)))
    for name in rule.fieldNames { event.set(name, String(text.prefix(256))) }
    event.set("EventID", "4688")
    _ = rule.matches(event)
    _ = rule.regexOverruns
    return 0
}
