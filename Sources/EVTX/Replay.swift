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
                w.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: b[pos..<Int(op.start)]))
                p.write(p.values[Int(op.slot)], text: op.text, to: &w)
                pos = Int(op.end)
            }
            w.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: b[pos...]))
        }
    }

    /// Renders `root` of `p`, replaying a recorded program of the same shape when there is one and
    /// recording one when there is not (at most `limit` per cache).
    static func render(_ p: RecordView, root: Int, cache: inout [TemplateKey<Int>: RenderProgram], limit: Int = 256, to w: inout JSONWriter) {
        guard let key = p.shapeKey().map(TemplateKey.init(words:)) else { JSONRender.render(p, root: root, to: &w); return }
        if let program = cache[key] { program.replay(p, to: &w); return }
        guard cache.count < limit else { JSONRender.render(p, root: root, to: &w); return }
        let start = w.bytes.count
        w.ops = []
        w.replayable = true
        JSONRender.render(p, root: root, to: &w)
        if w.replayable, let ops = w.ops {
            let shift = Int32(start)
            cache[key] = RenderProgram(bytes: Array(w.bytes[start...]),
                                       ops: ops.map { Op(start: $0.start - shift, end: $0.end - shift, slot: $0.slot, text: $0.text) })
        }
        w.ops = nil
    }
}

extension RecordView {
    /// Everything but the values' bytes that decides how the record renders: its templates, their
    /// value counts, and for each value its type and whether it is null, empty or an array (of how
    /// many items). Nil when the record is not a plain nest of template instances.
    func shapeKey() -> [Int]? {
        var key: [Int] = []
        key.reserveCapacity(values.count + 2 * instances.count)
        for i in instances {
            if i.template < 0 {
                guard i.nodes.count == 1, case .instance(let j) = i.nodes[0] else { return nil }
                key.append(-1 - j)
            } else {
                key.append(i.template)
            }
            key.append(i.count)
        }
        for v in values {
            var code = Int(v.type) | (isNull(v) ? 1 << 8 : 0) | (isEmpty(v) ? 1 << 9 : 0)
            if v.type == RawValue.instance { code |= Int(v.start) << 10 }
            if isArray(v) {
                var n = 0
                forEachItem(v) { _ in n += 1 }
                code |= n << 10
            }
            key.append(code)
        }
        return key
    }
}
