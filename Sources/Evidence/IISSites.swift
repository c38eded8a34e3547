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
    /// Per root, the URL path IIS serves it at (`/uploads`, empty for a site's root): its
    /// application's path and the virtual directory's own.
    private var urls: [String: String] = [:]

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
        for (path, url) in reader.paths.prefix(Self.maxRoots - roots.count) {
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
            // Two sites serving one folder: its files have no one URL.
            if let known = urls[root], known != url { urls[root] = nil } else if urls[root] == nil { urls[root] = url }
        }
        if reader.paths.count >= Self.maxRoots { said.append("more than \(Self.maxRoots) IIS site folders: the rest were not taken") }
        return said
    }

    /// The URL path IIS serves a file at (`/uploads/x.aspx`), by the deepest site folder holding
    /// it; nil outside the sites' folders.
    func url(windowsPath: String) -> String? {
        let p = Self.key(windowsPath)
        guard let root = roots.filter({ p.hasPrefix($0) }).max(by: { $0.count < $1.count }), let prefix = urls[root] else { return nil }
        let rest = p.dropFirst(root.count).dropLast().replacingOccurrences(of: "\\", with: "/")
        return prefix + "/" + rest
    }

    /// An application's and a virtual directory's paths joined as IIS joins them (`/app` + `/img`).
    static func join(_ application: String, _ directory: String) -> String {
        let parts = (application + "/" + directory).split(separator: "/").filter { !$0.isEmpty }
        return parts.isEmpty ? "" : "/" + parts.joined(separator: "/")
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
        var paths: [(physical: String, url: String)] = []
        private var inSites = 0
        private var application = "/"

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if name == "sites" { inSites += 1 }
            if name == "application" { application = attributes["path"] ?? "/" }
            // Only the sites' own virtual directories (`<virtualDirectoryDefaults>` has no path of its own).
            if inSites > 0, name == "virtualDirectory", let path = attributes["physicalPath"], !path.isEmpty,
               paths.count < IISSites.maxRoots {
                paths.append((path, IISSites.join(application, attributes["path"] ?? "/")))
            }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "sites" { inSites -= 1 }
        }
    }
}
