/// A rule file that cannot be used, with the file and the reason.
public struct SigmaError: Error, Sendable, CustomStringConvertible {
    public enum Reason: Error, Sendable, Equatable {
        /// Valid Sigma that this engine does not implement (yet); the rule is rejected, never half-run.
        case unsupported(String)
        /// Not valid Sigma.
        case invalid(String)
        /// Valid and supported, but `|expand` placeholders have no values here: the rule cannot
        /// run until the site gives them (`--placeholders FILE`).
        case needsValues([String])
    }

    public var file: String
    public var reason: Reason

    public init(file: String, reason: Reason) {
        self.file = file
        self.reason = reason
    }

    public var isUnsupported: Bool { if case .unsupported = reason { true } else { false } }
    public var needsValues: Bool { if case .needsValues = reason { true } else { false } }

    public var description: String {
        switch reason {
        case .unsupported(let s): "\(file): unsupported: \(s)"
        case .invalid(let s): "\(file): invalid: \(s)"
        case .needsValues(let names):
            "\(file): waiting for placeholder values: \(names.joined(separator: ", ")) (give them with --placeholders FILE)"
        }
    }
}
