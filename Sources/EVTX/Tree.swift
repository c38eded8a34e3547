/// A record seen as the tree it stands for, without building it: the children of an element once
/// its template's substitutions are filled in, and its attributes' values.
enum Child {
    case element(TElement, instance: Int)
    case text(RawValue)
}

/// An attribute once substituted: left out (an optional substitution with no value), one value,
/// or several pieces joined as text.
enum AttributeValue {
    case omitted
    case single(RawValue)
    case joined
}

extension RecordView {
    /// Calls `body` with each child of `nodes` in instance `k`; nested fragments and template
    /// instances are flattened in place, empty optional substitutions are left out.
    func forEachChild(_ nodes: [TNode], _ k: Int, _ body: (Child) -> Void) {
        for n in nodes {
            switch n {
            case .element(let e): body(.element(e, instance: k))
            case .text(let v): body(.text(v))
            case .instance(let j): forEachChild(instances[j].nodes, j, body)
            case .substitution(let i, let optional):
                let v = value(k, i)
                if v.type == RawValue.instance {
                    let j = Int(v.start)
                    forEachChild(instances[j].nodes, j, body)
                } else if !(optional && isEmpty(v)) {
                    body(.text(v))
                }
            }
        }
    }

    /// The one value of an element whose only child is a value (most elements): found without
    /// walking; `.null` when it is an optional substitution left out. Nil for any other element.
    func onlyValue(of e: TElement, _ k: Int) -> RawValue? {
        guard e.children.count == 1 else { return nil }
        switch e.children[0] {
        case .text(let v): return v
        case .substitution(let i, let optional):
            let v = value(k, i)
            if v.type == RawValue.instance { return nil }
            return optional && isEmpty(v) ? .null : v
        case .element, .instance: return nil
        }
    }

    /// The top-level elements of an instance (a record's root, a fragment).
    func forEachElement(ofInstance k: Int, _ body: (TElement, Int) -> Void) {
        forEachChild(instances[k].nodes, k) { if case .element(let e, let ek) = $0 { body(e, ek) } }
    }

    func attribute(_ pieces: [TNode], _ k: Int) -> AttributeValue {
        var parts = 0
        var only = RawValue.null
        var omit = false
        for p in pieces {
            switch p {
            case .text(let v):
                parts += 1
                only = v
            case .substitution(let i, let optional):
                let v = value(k, i)
                if optional && isEmpty(v) { omit = pieces.count == 1; continue }
                parts += 1
                only = v
            case .element, .instance:
                break
            }
        }
        if omit { return .omitted }
        return parts == 1 ? .single(only) : .joined
    }

    /// Writes an attribute's value: a JSON value, or (`text`) its characters.
    func writeAttribute(_ pieces: [TNode], _ k: Int, _ resolved: AttributeValue, text: Bool, to w: inout JSONWriter) {
        switch resolved {
        case .omitted: break
        case .single(let v): write(v, text: text, to: &w)
        case .joined:
            if !text { w.quote() }
            for p in pieces {
                switch p {
                case .text(let v): write(v, text: true, to: &w)
                case .substitution(let i, let optional):
                    let v = value(k, i)
                    if !(optional && isEmpty(v)) { write(v, text: true, to: &w) }
                case .element, .instance: break
                }
            }
            if !text { w.quote() }
        }
    }

    /// The text of attribute `name` of `e`, if the attribute is there.
    func attributeText(_ name: String, of e: TElement, _ k: Int) -> String? {
        for a in e.attributes where names[a.name].text == name {
            let r = attribute(a.pieces, k)
            if case .omitted = r { continue }
            return attributeString(a.pieces, k, r)
        }
        return nil
    }

    /// An attribute's value as text.
    func attributeString(_ pieces: [TNode], _ k: Int, _ resolved: AttributeValue) -> String {
        if case .single(let v) = resolved { return string(v) }
        var w = JSONWriter(escaping: false, capacity: 64)
        writeAttribute(pieces, k, resolved, text: true, to: &w)
        return w.string
    }
}

extension RecordView {
    /// An attribute left out, or whose one value is empty: the crate writes neither.
    func isBlank(_ pieces: [TNode], _ k: Int) -> Bool {
        switch attribute(pieces, k) {
        case .omitted: true
        case .single(let v): isEmpty(v)
        case .joined: false
        }
    }
}
