import Foundation

/// Renders a record's nodes as XML text (for `exhunt evtx dump --format xml`), escaping values.
enum XMLRender {
    static func render(_ nodes: [XNode], indent: String = "") -> String {
        var out = ""
        for n in nodes {
            switch n {
            case .element(let e):
                out += indent + "<" + e.name
                for (k, v) in e.attributes { out += " \(k)=\"\(escape(v.text))\"" }
                let children = e.children
                if children.isEmpty { out += "/>\n"; continue }
                if children.allSatisfy({ if case .value = $0 { return true } else { return false } }) {
                    out += ">" + children.map { if case .value(let v) = $0 { return escape(v.text) } else { return "" } }.joined() + "</\(e.name)>\n"
                } else {
                    out += ">\n" + render(children, indent: indent + "  ") + indent + "</\(e.name)>\n"
                }
            case .value(let v):
                if case .nodes(let inner) = v { out += render(inner, indent: indent) } else { out += indent + escape(v.text) + "\n" }
            }
        }
        return out
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
