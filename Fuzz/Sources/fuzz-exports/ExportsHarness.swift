import Foundation
import FuzzSupport
@testable import EventExports

/// The export shapes as the product ships them (the harness runs from the repository's root).
let shapes: ExportShapes = (try? ExportShapes.load(URL(fileURLWithPath: "Rules/mappings/event-exports.yml"))) ?? ExportShapes()

/// Exported Windows events: the input sniffed as the hunt does, then split as JSON and as event
/// XML (and as UTF-16 of each) in two feeds cut where its first byte says, every record parsed
/// into an event; and the whole input parsed as one JSON record and one XML event.
func fuzzExports(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    // The run-wide bound on XML errors would stop XML parsing after a million of them; each input
    // is a run of its own here (Foundation's per-error memory still grows: fuzz.sh allows for it).
    XMLAsJSON.errorBudget.reset()
    _ = shapes.sniff(Array(input.prefix(16384)))
    let split = size == 0 ? 0 : Int(input[0]) * size / 256
    var limits = ExportLimits()
    limits.recordBytes = 4096
    limits.depth = 16
    for format in [ExportFormat.json, .xml] {
        for utf16 in [nil, UTF16Order.little] {
            var splitter = ExportSplitter(format: format, utf16: utf16, limits: limits)
            var events = 0
            let take: (UnsafeRawBufferPointer, RecordPlace) -> Void = { record, _ in
                if case .success = ExportSplitter.event(record, format: format, shapes: shapes) { events += 1 }
            }
            splitter.feed(UnsafeRawBufferPointer(rebasing: input[..<split]), take)
            splitter.feed(UnsafeRawBufferPointer(rebasing: input[split...]), take)
            splitter.finish()
            _ = splitter.problems
        }
    }
    if size <= 4096 {
        _ = shapes.event(json: input)
        _ = shapes.event(xml: input)
    }
    return 0
}
