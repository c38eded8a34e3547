// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// HTTP/1.1 and TLS on SwiftNIO: the survey's client and the emulator's servers.
let httpOverNIO: [Target.Dependency] = [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
]

let package = Package(
    name: "exhunt",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "exhunt", targets: ["exhunt"]),
        .library(name: "Hunt", targets: ["Hunt"]),
        // One library per parser module, for the fuzzing harnesses in Fuzz/ (their own package).
        .library(name: "ExhuntEVTX", targets: ["EVTX"]),
        .library(name: "ExhuntEventExports", targets: ["EventExports"]),
        .library(name: "ExhuntExchangeLogs", targets: ["ExchangeLogs"]),
        .library(name: "ExhuntSigma", targets: ["Sigma"]),
        .library(name: "ExhuntIndicators", targets: ["Indicators"]),
        .library(name: "ExhuntEvidence", targets: ["Evidence"]),
        .library(name: "ExhuntNTFS", targets: ["NTFS"]),
        .library(name: "ExhuntBaselines", targets: ["Baselines"]),
        .library(name: "ExhuntSurvey", targets: ["Survey"]),
        .library(name: "ExhuntHuntCore", targets: ["HuntCore"]),
        .library(name: "ExhuntExchangeBuilds", targets: ["ExchangeBuilds"]),
        .library(name: "ExhuntVerdicts", targets: ["Verdicts"]),
        .library(name: "ExhuntCaseStore", targets: ["CaseStore"]),
        .library(name: "ExhuntDashboard", targets: ["Dashboard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/onevcat/Rainbow", from: "4.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
        // The case store: one query builder (SQLKit) over the embedded SQLite and PostgreSQL drivers.
        .package(url: "https://github.com/vapor/sql-kit", from: "3.30.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.0"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        // The dashboard (`exhunt serve`): HTTP on Hummingbird 2, sessions and bcrypt from hummingbird-auth.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        // `exhunt rules update`: HTTPS downloads of pinned third-party rule sets.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
    ],
    targets: [
        // Shared vocabulary: events, findings, problems, verdicts. No I/O.
        .target(name: "HuntCore", swiftSettings: strict),
        // zlib from Debian's zlib1g-dev (ZIPFoundation's own module is CZlib): inflating zip entries with a budget (and compressed logs).
        .systemLibrary(name: "SystemZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libyara from Debian's libyara-dev, found by pkg-config.
        .systemLibrary(name: "CYara", pkgConfig: "yara", providers: [.apt(["libyara-dev"])]),
        // Disk images (raw, E01, VMDK, VHD, VHDX), partition tables and NTFS through The Sleuth Kit.
        .systemLibrary(name: "CTSK", pkgConfig: "tsk", providers: [.apt(["libtsk-dev"])]),
        .systemLibrary(name: "CEWF", pkgConfig: "libewf", providers: [.apt(["libewf-dev"])]),
        // (Volume shadow copies: libvshadow, loaded at run time; DiskImages/Platform.swift says why.)
        .target(name: "DiskImages", dependencies: ["CTSK", "CEWF", "HuntCore"], swiftSettings: strict),
        // NTFS's own metadata from its bytes: `$MFT` records (names, parents, both sets of times,
        // deleted entries) and the USN change journal (`$J`), from a collection or a disk image.
        .target(name: "NTFS", dependencies: ["HuntCore"], swiftSettings: strict),
        // Microsoft's per-build baselines of Exchange's web folders, and a file judged against them.
        .target(name: "Baselines", swiftSettings: strict),
        // YARA through libyara: compiling, one scanner per thread, matches as Swift values.
        .target(name: "YARA", dependencies: ["CYara"], swiftSettings: strict),
        // Read-only access to an evidence tree (folder, .zip or disk image), discovery, manifest hashing.
        .target(name: "Evidence", dependencies: [
            "HuntCore", "SystemZlib", "DiskImages", "NTFS",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], swiftSettings: strict),
        // Windows event logs (.evtx) from their bytes: chunks, records, BinXML with templates, evtx-crate JSON.
        .target(name: "EVTX", dependencies: ["HuntCore", "SystemZlib"], swiftSettings: strict),
        // Bytes of Exchange CSV logs, IIS W3C logs and plain text logs -> records.
        .target(name: "ExchangeLogs", dependencies: ["HuntCore"], swiftSettings: strict),
        // Windows events exported as JSON (evtx crate, Velociraptor, Winlogbeat/ECS, Log Analytics,
        // flattened datasets) or event XML, streamed record by record into the EVTX reader's event
        // model; the shapes are data (Rules/mappings/event-exports.yml).
        .target(name: "EventExports", dependencies: ["HuntCore", "EVTX", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // Sigma rules: load, compile, match events.
        .target(name: "Sigma", dependencies: ["HuntCore", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // Detection content shipped inside the binary's resources: the top-level Rules/ folder.
        .target(name: "BuiltinRules", path: "Rules", exclude: ["README.md"],
                resources: [.copy("sigma"), .copy("iocs"), .copy("mappings"), .copy("yara"), .copy("known-good"), .copy("exchange"), .copy("grouping.yml"),
                            .copy("verdict-policy.yml"), .copy("rule-sources.yml")], swiftSettings: strict),
        // Third-party rule sets (SigmaHQ, signature-base) downloaded over HTTPS from pinned releases,
        // verified by SHA-256 and unpacked into a per-user cache (`exhunt rules update`).
        .target(name: "RuleUpdates", dependencies: [
            "BuiltinRules", "HuntCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: strict),
        // Indicator lists (CSV, STIX 2.1, MSTIC CSV, CHIRP YAML): hashes, names and paths, IP addresses.
        .target(name: "Indicators", dependencies: ["HuntCore", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // Orchestration: discovery -> readers -> detectors -> verdict.
        // Windows events (EVTX records) as Sigma events: channel -> logsource, categories, aliases (Rules/mappings/windows-events.yml).
        .target(name: "WindowsEvents", dependencies: ["HuntCore", "EVTX", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // The findings sink: hits aggregated per rule and group key as they are found, streamed to hit streams.
        .target(name: "Findings", dependencies: ["HuntCore", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        // Verdicts: how findings weigh (Rules/verdict-policy.yml), one verdict per vulnerability family
        // with its window, coverage gaps and patch timeline, and the host's verdict.
        .target(name: "Verdicts", dependencies: ["HuntCore", "ExchangeBuilds", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        .target(name: "Hunt", dependencies: ["HuntCore", "Findings", "Baselines", "WindowsEvents", "Evidence", "ExchangeLogs", "EVTX", "EventExports", "Sigma", "YARA", "Indicators",
                                             "Verdicts", "ExchangeBuilds", "BuiltinRules",
                                             .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: strict),
        // Exchange build numbers -> product, CU, update and patch status per vulnerability family.
        .target(name: "ExchangeBuilds", dependencies: ["HuntCore", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // Network survey: targets, HTTP(S) probes over SwiftNIO, fingerprints, records.
        .target(name: "Survey", dependencies: [
            "ExchangeBuilds", "HuntCore", .product(name: "Yams", package: "Yams"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ] + httpOverNIO, swiftSettings: strict),
        // The fleet case store: hosts, hunt runs, findings, indicators, survey records, analyst notes
        // and the audit log in one schema, on SQLite (a file) or PostgreSQL (a URL).
        .target(name: "CaseStore", dependencies: [
            "HuntCore", "Indicators", "Timeline",
            .product(name: "SQLKit", package: "sql-kit"),
            .product(name: "SQLiteKit", package: "sqlite-kit"),
            .product(name: "PostgresKit", package: "postgres-kit"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        // `exhunt serve`: the case store as web pages and a JSON API, with accounts, sessions, CSRF
        // tokens and a strict Content-Security-Policy.
        .target(name: "Dashboard", dependencies: [
            "CaseStore", "HuntCore", "Timeline", "Reports",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Templates"), .copy("Static")], swiftSettings: strict),
        // Findings of one or many hosts as a timeline and an incident story per host.
        .target(name: "Timeline", dependencies: ["HuntCore"], swiftSettings: strict),
        // Renderers: console, JSON, Test-ProxyLogon CSV, Timesketch, ECS, HTML.
        .target(name: "Reports", dependencies: ["HuntCore", "Timeline", "CaseStore",
                                                .product(name: "Rainbow", package: "Rainbow"),
                                                .product(name: "Mustache", package: "swift-mustache"),
                                                .product(name: "Crypto", package: "swift-crypto")],
                resources: [.copy("Templates")], swiftSettings: strict),
        .executableTarget(name: "exhunt", dependencies: [
            "Hunt", "Reports", "HuntCore", "WindowsEvents", "Sigma", "YARA", "Indicators", "Timeline", "EVTX", "Evidence", "ExchangeBuilds", "Survey", "BuiltinRules", "CaseStore", "Dashboard", "RuleUpdates",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        // Writes the bundled sample evidence and the benchmark's large log sets.
        .executableTarget(name: "exhunt-samplegen", dependencies: [
            "HuntCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        // A fleet of emulated Exchange servers on loopback addresses, for the survey's tests and benchmark.
        // Not part of the product.
        .executableTarget(name: "exchange-emulator", dependencies: [
            "HuntCore", "Survey",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
        ] + httpOverNIO, swiftSettings: strict),
        // The case store at fleet scale (Benchmarks/bench-case.sh). Not part of the product.
        .executableTarget(name: "exhunt-bench-case", dependencies: ["CaseStore", "HuntCore"], path: "Benchmarks/CaseStoreBench",
                          swiftSettings: strict),
        // Scratch files, ../shared and peer programs for every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "ExchangeLogsTests", dependencies: ["TestSupport", "ExchangeLogs", "HuntCore"], swiftSettings: strict),
        .testTarget(name: "YARATests", dependencies: ["TestSupport", "YARA"], swiftSettings: strict),
        .testTarget(name: "IndicatorsTests", dependencies: ["TestSupport", "Indicators", "HuntCore"], swiftSettings: strict),
        .testTarget(name: "FindingsTests", dependencies: ["Findings", "HuntCore"], swiftSettings: strict),
        .testTarget(name: "TimelineTests", dependencies: ["TestSupport", "Timeline", "Reports", "HuntCore"], swiftSettings: strict),
        .testTarget(name: "EVTXTests", dependencies: ["TestSupport", "EVTX", "HuntCore"], swiftSettings: strict),
        .testTarget(name: "EventExportsTests", dependencies: ["TestSupport", "EventExports", "EVTX", "HuntCore", "exhunt"], swiftSettings: strict),
        .testTarget(name: "SurveyTests", dependencies: ["TestSupport", "Survey", "ExchangeBuilds", "BuiltinRules", "exhunt", "exchange-emulator"], swiftSettings: strict),
        .testTarget(name: "DiskImagesTests", dependencies: ["TestSupport", "exhunt", "DiskImages", .product(name: "Crypto", package: "swift-crypto")],
                    swiftSettings: strict),
        .testTarget(name: "NTFSTests", dependencies: ["TestSupport", "NTFS", "HuntCore"], swiftSettings: strict),
        .testTarget(name: "SigmaTests", dependencies: ["Sigma", "HuntCore"], swiftSettings: strict),
        .testTarget(name: "EvidenceTests", dependencies: ["TestSupport", "Evidence", "HuntCore",
                                                   .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                                                   .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .testTarget(name: "CaseStoreTests", dependencies: ["TestSupport", "CaseStore", "Dashboard", "HuntCore", "Hunt", "Indicators", "exhunt",
                                                    .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .testTarget(name: "CeleryTests", dependencies: ["TestSupport", "CaseStore", "HuntCore", "exhunt", "exchange-emulator",
                                                  .product(name: "ZIPFoundation", package: "ZIPFoundation")], swiftSettings: strict),
        .testTarget(name: "RuleUpdatesTests", dependencies: ["TestSupport", "RuleUpdates", "exhunt",
                                                      .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                                                      .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .testTarget(name: "HuntTests", dependencies: ["TestSupport", "Hunt", "HuntCore", "Findings", "Baselines", "Verdicts", "WindowsEvents", "Reports", "Timeline", "exhunt", "ExchangeLogs", "EVTX",
                                               "Evidence", .product(name: "Yams", package: "Yams"),
                                               .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                                               .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
    ]
)
