import Foundation

/// Renders a record as XML text (for `exhunt evtx dump --format xml`), escaping values.
enum XMLRender {
    static func render(_ p: RecordView, root: Int) -> String {
        var out = ""
        render(p, p.instances[root].nodes, root, indent: "", into: &out)
        return out
    }

    private static func render(_ p: RecordView, _ nodes: [TNode], _ k: Int, indent: String, into out: inout String) {
        p.forEachChild(nodes, k) { child in
            switch child {
            case .element(let e, let ek):
                let name = p.names[e.name].text
                out += indent + "<" + name
                for a in e.attributes {
                    let r = p.attribute(a.pieces, ek)
                    if case .omitted = r { continue }
                    out += " \(p.names[a.name].text)=\"\(escape(p.attributeString(a.pieces, ek, r)))\""
                }
                var children: [Child] = []
                p.forEachChild(e.children, ek) { children.append($0) }
                if children.isEmpty { out += "/>\n"; return }
                if children.allSatisfy({ if case .text = $0 { true } else { false } }) {
                    out += ">"
                    for case .text(let v) in children { out += escape(p.string(v)) }
                    out += "</\(name)>\n"
                } else {
                    out += ">\n"
                    render(p, e.children, ek, indent: indent + "  ", into: &out)
                    out += indent + "</\(name)>\n"
                }
            case .text(let v):
                out += indent + escape(p.string(v)) + "\n"
            }
        }
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}
