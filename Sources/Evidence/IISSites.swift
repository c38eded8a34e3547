import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The folders IIS serves, from its `applicationHost.config`: every site's virtual directories'
/// physical paths. A page there is a page IIS runs, wherever the folder is (`D:\Sites\Shop\uploads`),
/// so the hunt reads it as it reads Exchange's web folders.
struct IISSites {
    /// Lowercase, backslash-separated, ending in `\`, the drive's colon left out (a collection's
    /// `C\Sites\…` and a server's `C:\Sites\…` compare alike).
    private(set) var roots: [String] = []

    /// The largest configuration read, and the most folders kept (a crafted file can claim more).
    static let maxBytes = 16 << 20
    static let maxRoots = 10_000

    var isEmpty: Bool { roots.isEmpty }

    /// Adds the physical paths of one `applicationHost.config`; text that is not its XML adds nothing.
    mutating func add(config data: Data) {
        guard data.count <= Self.maxBytes else { return }
        let reader = Reader()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        parser.shouldResolveExternalEntities = false
        _ = parser.parse()
        for path in reader.paths.prefix(Self.maxRoots - roots.count) {
            let root = Self.key(Self.expand(path))
            // A site at a drive's root would make every file a page: such a root is not kept.
            if root.split(separator: "\\").count >= 2, !roots.contains(root) { roots.append(root) }
        }
    }

    /// Whether a file lies under one of the sites' folders.
    func contains(windowsPath: String) -> Bool {
        let p = Self.key(windowsPath)
        return roots.contains { p.hasPrefix($0) }
    }

    /// `%SystemDrive%` and the like, as IIS expands them on a server whose Windows is on C:.
    static func expand(_ path: String) -> String {
        var p = path
        for (name, value) in [("%systemdrive%", "C:"), ("%systemroot%", "C:\\Windows"), ("%windir%", "C:\\Windows")] {
            while let r = p.range(of: name, options: .caseInsensitive) { p.replaceSubrange(r, with: value) }
        }
        return p
    }

    static func key(_ path: String) -> String {
        var p = path.lowercased().replacingOccurrences(of: "/", with: "\\")
        if p.count >= 2, p.dropFirst().first == ":" { p.remove(at: p.index(after: p.startIndex)) }
        while p.hasPrefix("\\") { p.removeFirst() }
        return p.hasSuffix("\\") ? p : p + "\\"
    }

    private final class Reader: NSObject, XMLParserDelegate {
        var paths: [String] = []
        private var inSites = 0

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if name == "sites" { inSites += 1 }
            // Only the sites' own virtual directories (`<virtualDirectoryDefaults>` has no path of its own).
            if inSites > 0, name == "virtualDirectory", let path = attributes["physicalPath"], !path.isEmpty,
               paths.count < IISSites.maxRoots {
                paths.append(path)
            }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "sites" { inSites -= 1 }
        }
    }
}
