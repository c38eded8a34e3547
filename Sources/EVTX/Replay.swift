/// Records of one template in one chunk, whose values are null, empty or arrays in the same
/// places, render as the same bytes around their values. The first such record is rendered in
/// full and recorded; the others replay the recording and write only their values.
struct RenderProgram {
    struct Op {
        let start: Int32
        let end: Int32
        let slot: Int32
        let text: Bool
    }

    /// The recorded rendering, values included.
    let bytes: [UInt8]
    /// Where the values were, in order.
    let ops: [Op]

    /// Renders a record of the recorded shape.
    func replay(_ p: RecordView, to w: inout JSONWriter) {
        bytes.withUnsafeBufferPointer { b in
            var pos = 0
            for op in ops {
                w.append(UnsafeBufferPointer(rebasing: b[pos..<Int(op.start)]))
                p.write(p.values[Int(op.slot)], text: op.text, to: &w)
                pos = Int(op.end)
            }
            w.append(UnsafeBufferPointer(rebasing: b[pos...]))
        }
    }

    /// Renders `root` of `p`, replaying a recorded program of the same shape when there is one and
    /// recording one when there is not (at most `limit`).
    static func render(_ p: RecordView, root: Int, programs: inout RenderPrograms, limit: Int = 4096, to w: inout JSONWriter) {
        guard p.shapeKey(into: &programs.scratch) else { JSONRender.render(p, root: root, to: &w); return }
        let key = ShapeKey(words: programs.scratch)
        if let program = programs.table[key] { program.replay(p, to: &w); return }
        guard programs.table.count < limit else { JSONRender.render(p, root: root, to: &w); return }
        let start = w.count
        w.ops = []
        w.replayable = true
        JSONRender.render(p, root: root, to: &w)
        if w.replayable, let ops = w.ops {
            let shift = Int32(start)
            programs.table[key] = RenderProgram(bytes: w.array(from: start),
                                       ops: ops.map { Op(start: $0.start - shift, end: $0.end - shift, slot: $0.slot, text: $0.text) })
        }
        w.ops = nil
    }
}

extension RecordView {
    /// Everything but the values' bytes that decides how the record renders: its templates, their
    /// value counts, and for each value its type and whether it is null, empty or an array (of how
    /// many items), written into `key`. False when the record is not a plain nest of template
    /// instances.
    func shapeKey(into key: inout [Int]) -> Bool {
        key.removeAll(keepingCapacity: true)
        for i in instances {
            if i.template < 0 {
                guard i.nodes.count == 1, case .instance(let j) = i.nodes[0] else { return false }
                key.append(-1 - j)
            } else {
                key.append(i.template)
            }
            key.append(i.count)
        }
        for v in values {
            var code = Int(v.type) | (isNull(v) ? 1 << 8 : 0) | (isEmpty(v) ? 1 << 9 : 0)
            if v.type == RawValue.instance { code |= Int(v.start) << 10; key.append(code); continue }
            if v.isArray {
                var n = 0
                forEachItem(v) { _ in n += 1 }
                code |= n << 10
            }
            key.append(code)
        }
        return true
    }
}

/// Recorded renderings by record shape, and room to write a shape in.
struct RenderPrograms {
    var table: [ShapeKey: RenderProgram] = [:]
    var scratch: [Int] = []
}

/// A record's shape as a dictionary key. Looked up once per record, so it is hashed with a cheap
/// multiply-fold (seeded per process, so a file cannot aim for collisions it can predict) and the
/// result fed to the standard hasher once; the table it keys is bounded.
struct ShapeKey: Hashable {
    var words: [Int]
    private static let seed = UInt64.random(in: 1...UInt64.max)

    func hash(into hasher: inout Hasher) {
        var x = Self.seed
        for w in words {
            x = (x ^ UInt64(bitPattern: Int64(w))) &* 0x9E37_79B9_7F4A_7C15
            x ^= x >> 29
        }
        hasher.combine(x)
    }
}
