import Foundation

/// Rebuilds the server-side path from how collection tools lay files out: the evidence reader's
/// and the case store's one reading of a collection's paths.
public enum WindowsPath {
    static let topLevelFolders: Set<String> = ["program files", "program files (x86)", "windows", "inetpub", "programdata",
                                               "root", "users", "exchange", "exchangeserver", "$extend", "$mft"]

    public static func from(relative: String) -> String {
        var parts = relative.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        // Velociraptor: uploads/auto/C:/…, uploads/ntfs/\\.\C:/…
        if let i = parts.firstIndex(where: { isDrive($0) }) {
            var drive = parts[i]
            if drive.hasPrefix("\\\\.\\") { drive = String(drive.dropFirst(4)) }
            parts = [drive] + parts[(i + 1)...]
            return parts.joined(separator: "\\")
        }
        // KAPE: <target>/C/Program Files/…
        if let i = parts.indices.first(where: { j in
            parts[j].count == 1 && parts[j].first?.isLetter == true && j + 1 < parts.count
                && topLevelFolders.contains(parts[j + 1].lowercased())
        }) {
            parts = [parts[i] + ":"] + parts[(i + 1)...]
            return parts.joined(separator: "\\")
        }
        return parts.joined(separator: "\\")
    }

    private static func isDrive(_ s: String) -> Bool {
        let t = s.hasPrefix("\\\\.\\") ? String(s.dropFirst(4)) : s
        return t.count == 2 && t.first?.isLetter == true && t.last == ":"
    }
}
