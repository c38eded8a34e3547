public import Foundation
import HummingbirdBcrypt

/// What a signed-in person may do: an analyst reads and records notes, tags, overrides and
/// remediation; a reader only reads.
public enum DashboardRole: String, Sendable, Codable, CaseIterable {
    case analyst, reader
}

/// The dashboard's accounts: a file of `name:role:bcrypt-hash` lines (as htpasswd keeps them),
/// written by `exhunt serve add-user`. Passwords are never stored, only their bcrypt hashes.
public struct Accounts: Sendable {
    public struct Account: Sendable {
        public var name: String
        public var role: DashboardRole
        var hash: String
    }

    public private(set) var accounts: [String: Account] = [:]

    public init() {}

    /// Reads an accounts file; a malformed line is an error that names it.
    public init(contentsOf url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let parts = trimmed.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3, Self.validName(parts[0]), let role = DashboardRole(rawValue: parts[1]), parts[2].hasPrefix("$2") else {
                throw DashboardError("\(url.path):\(n + 1): not an account line (name:analyst|reader:bcrypt-hash)")
            }
            accounts[parts[0]] = Account(name: parts[0], role: role, hash: parts[2])
        }
    }

    public var isEmpty: Bool { accounts.isEmpty }

    /// Names are short and plain: they appear in the audit log and in cookies' sessions.
    public static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._@-".contains($0)) }
    }

    /// The account when the password is right. A missing account costs a bcrypt check too, so
    /// timing does not tell which names exist.
    public func verify(name: String, password: String) -> Account? {
        guard let account = accounts[name] else {
            _ = Bcrypt.verify(password, hash: Self.decoy)
            return nil
        }
        return Bcrypt.verify(password, hash: account.hash) ? account : nil
    }

    private static let decoy = Bcrypt.hash("exhunt-decoy-password", cost: 10)

    /// The file's text with `name` added or replaced.
    public static func adding(name: String, role: DashboardRole, password: String, to text: String) throws -> String {
        guard validName(name) else { throw DashboardError("an account name is 1 to 64 letters, digits or . _ @ -") }
        guard password.count >= 12 else { throw DashboardError("a password has at least 12 characters") }
        var lines = text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix(name + ":") }
        lines.append("\(name):\(role.rawValue):\(Bcrypt.hash(password, cost: 12))")
        return lines.joined(separator: "\n") + "\n"
    }
}

public struct DashboardError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
