// swift-tools-version:6.0
// libFuzzer harnesses for every parser of attacker-controlled input, one executable each.
// Built by Scripts/fuzz.sh with `-sanitize=fuzzer,address` and `-enable-testing` (harnesses reach
// internal parsers with @testable import, so the product's public surface stays as it is).
// A package of its own, so the product's build never links libFuzzer.
import PackageDescription

let exhunt: [String] = ["EVTX", "EventExports", "ExchangeLogs", "Sigma", "Indicators", "Evidence", "Survey", "HuntCore", "ExchangeBuilds", "NTFS", "Baselines"]
func harness(_ name: String, _ modules: [String], extra: [Target.Dependency] = []) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + modules.map { .product(name: "Exhunt\($0)", package: "exhunt-link") } + extra,
                      path: "Sources/\(name)")
}

let package = Package(
    name: "exhunt-fuzz",
    dependencies: [
        // The product's package, through a link Scripts/fuzz.sh makes (its identity is then the
        // link's name, whatever the clone's folder is called).
        .package(path: "exhunt-link"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"]),
        harness("fuzz-evtx", ["EVTX"]),
        harness("fuzz-logs", ["ExchangeLogs", "HuntCore"]),
        harness("fuzz-exports", ["EventExports"]),
        harness("fuzz-sigma", ["Sigma", "HuntCore"]),
        harness("fuzz-iocs", ["Indicators"]),
        harness("fuzz-kape", ["Evidence"]),
        harness("fuzz-zip", ["Evidence", "HuntCore"]),
        harness("fuzz-mft", ["NTFS"]),
        harness("fuzz-usn", ["NTFS"]),
        harness("fuzz-baselines", ["Baselines"]),
        harness("fuzz-pe", ["Baselines"]),
        harness("fuzz-http", ["Survey"], extra: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ]
)
