import Foundation
public import HuntCore
public import EVTX

/// Windows events as Sigma events: fields, log sources and aliases from the mapping.
extension WindowsEventMapping {
    /// Classifications by the values of the fields they depend on: events of one kind repeat.
    public final class ClassificationCache {
        public init() {}
        var entries: [String: (sources: [LogSource], aliases: [(alias: String, from: String)])] = [:]
    }

    /// A Windows event as a Sigma event (field names as Sigma rules use them), with every logsource it belongs to.
    public func event(_ fields: EVTXFields, id: UInt64, offset: Int, path: String,
                      cache: ClassificationCache? = nil) -> (Event, [LogSource]) {
        event(fields, id: id, location: EvidenceLocation(path: path, offset: UInt64(offset), record: id), cache: cache)
    }

    /// The same for an event found elsewhere than in an `.evtx` (an export's line and record).
    public func event(_ fields: EVTXFields, id: UInt64?, location: EvidenceLocation,
                      cache: ClassificationCache? = nil) -> (Event, [LogSource]) {
        let mapping = self
        var event = Event(source: .evidenceFile, timestamp: fields.time, location: location, raw: fields.text)
        event.reserveCapacity(fields.fields.count + 8)
        for f in fields.fields {
            event.set(f.name, f.value)
            if mapping.stripSpacesFromFieldNames, f.name.utf8.contains(UInt8(ascii: " ")) {
                event.set(f.name.replacingOccurrences(of: " ", with: ""), f.value)
            }
        }
        let value = { (name: String) in event.value(name) }
        let classification: (sources: [LogSource], aliases: [(alias: String, from: String)])
        if let cache {
            let key = mapping.keyFields.map { value($0) ?? "" }.joined(separator: "\u{1}")
            if let hit = cache.entries[key] { classification = hit } else {
                classification = mapping.classification(value)
                // Bounded: a log of ever-new kinds of events must not grow it without end.
                if cache.entries.count < 4096 { cache.entries[key] = classification }
            }
        } else {
            classification = mapping.classification(value)
        }
        let sources = classification.sources.isEmpty ? [LogSource(product: "windows")] : classification.sources
        event.source = sources.first ?? LogSource(product: "windows")
        for a in classification.aliases { if let v = event.value(a.from) { event.set(a.alias, v) } }
        if let id { event.set("EventRecordID", String(id)) }
        return (event, sources)
    }

}
