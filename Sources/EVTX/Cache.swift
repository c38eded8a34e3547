/// What stays the same from one chunk to the next: names, template trees and recorded
/// renderings. The format scopes templates and names to a chunk, but a log's chunks use the same
/// few dozen templates over and over; a template is known again by its structure (its tokens,
/// with names and text resolved), never by where it sits. Not thread-safe: each worker owns one.
public final class EVTXCache: @unchecked Sendable {
    private(set) var names: [Name] = []
    private var nameIDs: [ArrayKey<UInt8>: Int] = [:]
    private(set) var pool: [String] = []
    private var poolIDs: [String: Int] = [:]
    private var textIDs: [ArrayKey<UInt8>: Int] = [:]
    private(set) var templates: [[TNode]] = []
    /// What rendering each template costs, for the fan-out budget.
    private(set) var weights: [RenderWeight] = []
    private var templateIDs: [ArrayKey<Int32>: Int] = [:]
    /// Recorded renderings by record shape (`RenderProgram`).
    var programs = RenderPrograms()
    /// Where the current chunk's names and template definitions are: offset to number.
    var nameAt = OffsetTable(), templateAt = OffsetTable()
    /// The dump's output writer, kept so its memory is reused chunk after chunk.
    var writer: JSONWriter?

    public init() {}

    /// Hostile input could fill the tables with one-off names and templates: they are emptied
    /// between chunks once any grows past its bound (within a chunk, its size bounds them).
    func startChunk() {
        nameAt.clear()
        templateAt.clear()
        guard names.count > 16_384 || pool.count > 16_384 || templates.count > 4096 || programs.table.count >= 4096 else { return }
        names = []; nameIDs = [:]; pool = []; poolIDs = [:]; textIDs = [:]; templates = []; weights = []; templateIDs = [:]; programs = RenderPrograms()
    }

    /// The name whose UTF-16 bytes these are.
    func name(_ utf16: UnsafeRawBufferPointer) -> Int {
        let key = ArrayKey(utf16)
        if let id = nameIDs[key] { return id }
        let text = BinXMLParser.utf16(utf16, trimNUL: false)
        var w = JSONWriter()
        w.string(text)
        names.append(Name(text: text, json: w.array(), isData: text == "Data", isName: text == "Name", isEventData: text == "EventData"))
        nameIDs[key] = names.count - 1
        return names.count - 1
    }

    func pooled(_ s: String) -> Int {
        if let id = poolIDs[s] { return id }
        pool.append(s)
        poolIDs[s] = pool.count - 1
        return pool.count - 1
    }

    /// Template text (UTF-16 bytes) in the pool, decoded the first time it is seen.
    func text(_ utf16: UnsafeRawBufferPointer) -> Int {
        let key = ArrayKey(utf16)
        if let id = textIDs[key] { return id }
        let id = pooled(BinXMLParser.utf16(utf16, trimNUL: false))
        textIDs[key] = id
        return id
    }

    /// The number of the template with this structure; `build` makes its tree if it is new.
    func template(_ key: ArrayKey<Int32>, build: () throws(EVTXError) -> [TNode]) throws(EVTXError) -> Int {
        if let id = templateIDs[key] { return id }
        let tree = try build()
        templates.append(tree)
        weights.append(RenderWeight(template: tree))
        templateIDs[key] = templates.count - 1
        return templates.count - 1
    }
}

/// Chunk offset to a number, for one chunk at a time: cleared in constant time (entries carry
/// the generation they were written in), since every chunk needs a fresh one.
struct OffsetTable {
    private var slots: [UInt64] = []
    private var generation: UInt64 = 1

    mutating func clear() {
        generation += 1
        if generation >= 1 << 32 { slots = []; generation = 1 }
    }

    subscript(offset: Int) -> Int? {
        get {
            guard offset >= 0, offset < slots.count else { return nil }
            let slot = slots[offset]
            return slot >> 32 == generation ? Int(slot & 0xFFFF_FFFF) : nil
        }
        set {
            guard let newValue, offset >= 0, offset < EVTXFile.chunkSize else { return }
            // Grown to what offsets need (a short or sparse chunk does not pay for 64 K slots).
            if offset >= slots.count {
                slots += repeatElement(0, count: min(EVTXFile.chunkSize, max(offset + 1, slots.count * 2, 4096)) - slots.count)
            }
            slots[offset] = generation << 32 | UInt64(UInt32(truncatingIfNeeded: newValue))
        }
    }
}

/// An array as a dictionary key, hashed as one run of bytes (an array's own hashing feeds the
/// hasher element by element).
struct ArrayKey<Element: FixedWidthInteger>: Hashable {
    var words: [Element]

    init(words: [Element]) { self.words = words }

    init(_ bytes: UnsafeRawBufferPointer) where Element == UInt8 {
        words = bytes.withMemoryRebound(to: UInt8.self) { Array($0) }
    }

    func hash(into hasher: inout Hasher) {
        words.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
