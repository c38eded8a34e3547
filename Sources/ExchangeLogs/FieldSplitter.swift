/// Splits one log line (without its line end) into field byte ranges.
enum FieldSplitter {
    struct Field {
        var range: Range<Int>
        /// The field was CSV-quoted; doubled quotes inside must be folded when decoding.
        var quoted: Bool
    }

    /// RFC 4180 style: commas separate, a field starting with `"` runs to the matching `"`,
    /// `""` inside is a literal quote. Returns false in `complete` when a quote never closed.
    static func csv(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, into fields: inout [Field]) -> (complete: Bool, Void) {
        fields.removeAll(keepingCapacity: true)
        var i = range.lowerBound
        let end = range.upperBound
        var complete = true
        while true {
            if i < end, p[i] == UInt8(ascii: "\"") {
                let start = i + 1
                var j = start
                var closed = false
                while j < end {
                    if p[j] == UInt8(ascii: "\"") {
                        if j + 1 < end, p[j + 1] == UInt8(ascii: "\"") { j += 2; continue }
                        closed = true
                        break
                    }
                    j += 1
                }
                if !closed { complete = false }
                fields.append(Field(range: start..<j, quoted: true))
                i = closed ? j + 1 : end
                // Anything between the closing quote and the next comma is kept out, as Excel does.
                while i < end, p[i] != UInt8(ascii: ",") { i += 1 }
            } else {
                var j = i
                while j < end, p[j] != UInt8(ascii: ",") { j += 1 }
                fields.append(Field(range: i..<j, quoted: false))
                i = j
            }
            if i >= end { break }
            i += 1 // the comma
            if i == end { fields.append(Field(range: end..<end, quoted: false)); break }
        }
        return (complete, ())
    }

    /// W3C extended: single spaces separate fields.
    static func w3c(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, into fields: inout [Field]) {
        fields.removeAll(keepingCapacity: true)
        var i = range.lowerBound
        let end = range.upperBound
        while i <= end {
            var j = i
            while j < end, p[j] != UInt8(ascii: " "), p[j] != UInt8(ascii: "\t") { j += 1 }
            fields.append(Field(range: i..<j, quoted: false))
            i = j + 1
        }
    }
}
