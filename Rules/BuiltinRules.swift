public import Foundation

/// Locates the detection content that ships inside the binary's resources.
public enum BuiltinRules {
    /// The folder holding `sigma/`, `iocs/` and `mappings/`.
    public static var directory: URL {
        // Each copied folder lands at the bundle's top level; `sigma` is always there.
        Bundle.module.url(forResource: "sigma", withExtension: nil)!.deletingLastPathComponent()
    }
}
