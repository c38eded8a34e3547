import FuzzSupport
import EVTX

/// The input is one or more chunks (64 KiB pieces, the last may be short) parsed in order with one
/// cache, so names, templates and renderings carried from a damaged chunk into the next are fuzzed
/// too. Every public way through the parser is taken: the dump's JSON Lines, the hunt's fields,
/// the full renderer with XML, and the checksums.
func fuzzEVTX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    let cache = EVTXCache()
    var offset = 0
    var index = 0
    while offset < size {
        let chunk = UnsafeRawBufferPointer(rebasing: input[offset..<min(size, offset + EVTXFile.chunkSize)])
        _ = EVTXFile.jsonLines(chunk, index: index, fileOffset: offset, cache: cache)
        _ = EVTXFile.fields(chunk, index: index, fileOffset: offset, cache: cache)
        _ = EVTXFile.parseChunk(chunk, index: index, fileOffset: offset, xml: true, cache: cache)
        offset += EVTXFile.chunkSize
        index += 1
    }
    return 0
}
