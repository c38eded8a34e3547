public import Foundation
import Yams

/// Where web shells of the 2021 campaigns were planted, and their names (Rules/exchange/webshell-paths.yaml).
public struct ShellPaths: Sendable {
    public var folders: [String]
    public var names: [String]

    public init(folders: [String], names: [String]) { (self.folders, self.names) = (folders, names) }

    public static func load(_ url: URL) throws -> ShellPaths {
        guard let m = try Yams.load(yaml: String(contentsOf: url, encoding: .utf8)) as? [String: Any],
              let folders = m["folders"] as? [String], let names = m["names"] as? [String] else {
            throw TargetError(description: "\(url.lastPathComponent): expected `folders` and `names` lists")
        }
        return ShellPaths(folders: folders.map { $0.hasSuffix("/") ? $0 : $0 + "/" }, names: names)
    }
}
