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

    /// Adds the physical paths of one `applicationHost.config`, and says what it could not take:
    /// a file that is not its XML (what came before the damage is kept), a site at a drive's
    /// root (it would make every file a page), folders named by `%SystemDrive%` (taken as `C:`).
    mutating func add(config data: Data) -> [String] {
        var said: [String] = []
        guard data.count <= Self.maxBytes else {
            return ["IIS configuration over \(Self.maxBytes >> 20) MiB not read: pages of sites outside Exchange's and IIS's default folders are not read as pages"]
        }
        let reader = Reader()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        parser.shouldResolveExternalEntities = false
        // (Foundation on Linux can answer true for a truncated document and set the error.)
        if !parser.parse() || parser.parserError != nil {
            said.append("IIS configuration damaged at line \(parser.lineNumber) (\(parser.parserError.map { "XML error \(($0 as NSError).code)" } ?? "not XML")): "
                        + "only the sites before it were taken")
        }
        for path in reader.paths.prefix(Self.maxRoots - roots.count) {
            let expanded = Self.expand(path)
            let root = Self.key(expanded)
            guard root.split(separator: "\\").count >= 2 else {
                said.append("IIS site folder \(path) is a drive's root: not taken as a web folder (every file would be a page)")
                continue
            }
            if expanded != path, !root.hasPrefix("c\\inetpub\\wwwroot\\") {
                said.append("IIS site folder \(path) taken as \(expanded) (Windows on C:, as the collection does not say)")
            }
            if !roots.contains(root) { roots.append(root) }
        }
        if reader.paths.count >= Self.maxRoots { said.append("more than \(Self.maxRoots) IIS site folders: the rest were not taken") }
        return said
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
