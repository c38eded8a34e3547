import ArgumentParser
import Foundation
import Hunt
import Reports
import RuleUpdates

extension RulesCommand {
    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the pinned third-party rule sets (SigmaHQ, signature-base), verify them and install them for hunts.",
            discussion: """
                Each source in the list (exhunt's Rules/rule-sources.yml unless --sources is given) names a release, \
                its SHA-256 pins, the files taken and their licence. A release is downloaded over HTTPS, checked \
                against its pins (the archive's SHA-256 and/or the SHA-256 of the taken files' sha256sum lines) and \
                unpacked into the per-user cache (EXHUNT_RULES_CACHE, else ~/.cache/exhunt/rules, \
                ~/Library/Caches/exhunt/rules or %LOCALAPPDATA%\\exhunt\\rules); nothing is installed when a check \
                fails, and the set installed before stays. From then on `exhunt hunt` loads the installed sets \
                (--no-downloaded-rules to leave them out); their findings weigh as the verdict policy says \
                third-party rules weigh, and name their set and licence.
                Exit status: 0 every set installed or up to date, 1 a set failed, 2 usage or configuration error.
                """)

        @Argument(help: "Sources to update (default: all in the list).")
        var names: [String] = []

        @Option(name: .long, help: "A rule source list of your own (the format of Rules/rule-sources.yml).")
        var sources: String?

        @Option(name: .customLong("ca-file"), help: "PEM certificates to trust beside the system's (a TLS-inspecting proxy's CA).")
        var caFile: String?

        @Option(name: .long, help: ArgumentHelp("Install NAME from an archive on disk instead of downloading it (checked against the same pins).",
                                                valueName: "NAME=FILE"))
        var archive: [String] = []

        @Flag(name: .long, help: "Download and check again even when the pinned set is installed.")
        var force = false

        func run() async throws {
            let list: RuleSourceList
            do { list = try sources.map { try RuleSourceList.load(URL(fileURLWithPath: $0)) } ?? RuleSourceList.shipped() } catch {
                Terminal.error("\(error)")
                throw ExitCode(2)
            }
            var archives: [String: URL] = [:]
            for a in archive {
                guard let eq = a.firstIndex(of: "="), !a[..<eq].isEmpty, !a[a.index(after: eq)...].isEmpty else {
                    throw ValidationError("--archive wants NAME=FILE")
                }
                archives[String(a[..<eq])] = URL(fileURLWithPath: String(a[a.index(after: eq)...]))
            }
            let known = Set(list.sources.map(\.name))
            for n in names + Array(archives.keys) where !known.contains(n) {
                throw ValidationError("no source '\(n)' in \(list.file) (it has \(list.sources.map(\.name).joined(separator: ", ")))")
            }
            let chosen = names.isEmpty ? list.sources : list.sources.filter { names.contains($0.name) }
            let updater = RuleUpdater(cache: .standard(), trustedCertificates: caFile)
            var failed = 0
            for source in chosen {
                let from = archives[source.name]
                Terminal.status("\(source.name): \(from.map { "reading \($0.path)" } ?? "downloading \(TerminalText.sanitize(source.url))")\n")
                do {
                    let outcome = try await updater.update(source, archive: from, force: force)
                    let s = outcome.installed
                    if outcome.upToDate {
                        print("\(s.name): up to date (\(s.source.version.prefix(12)), \(s.files) files)")
                    } else {
                        print("\(s.name): installed \(s.files) files (\(s.bytes >> 10) KiB) of \(s.source.version.prefix(12)) from \(TerminalText.sanitize(s.source.url))")
                        print("  verified: archive SHA-256 \(s.archiveSHA256)\(source.sha256 == nil ? " (not pinned)" : " (pinned)"); "
                              + "content SHA-256 \(s.contentSHA256)\(source.contentSHA256 == nil ? " (not pinned)" : " (pinned)")")
                        print("  \(TerminalText.sanitize(s.source.title)), by \(TerminalText.sanitize(s.source.author)); \(TerminalText.sanitize(s.source.licence))")
                    }
                } catch {
                    failed += 1
                    print(TerminalText.sanitize("\(source.name): \(error)", limit: 1000))
                }
            }
            print("Rule cache: \(updater.cache.root.path)")
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Installed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the downloaded rule sets a hunt loads: version, pins verified, files, licence.")

        func run() async throws {
            let cache = RuleCache.standard()
            let sets: [RuleCache.Installed]
            do { sets = try cache.installed() } catch {
                Terminal.error("\(error)")
                throw ExitCode(2)
            }
            if sets.isEmpty { print("No rule sets downloaded (exhunt rules update installs them) in \(cache.root.path)") }
            for s in sets {
                print([s.name, String(s.source.version.prefix(12)), "\(s.files) files", "content \(s.contentSHA256)",
                       ISO8601DateFormatter().string(from: s.installedAt), TerminalText.sanitize(s.source.licence), cache.folder(of: s).path]
                    .joined(separator: "\t"))
            }
        }
    }
}

/// The downloaded sets as the hunt loads them.
enum DownloadedRules {
    static func ruleSets() throws -> [Detectors.RuleSet] {
        let cache = RuleCache.standard()
        return try cache.installed().map { s in
            let name = "\(s.name)@\(s.source.version.prefix(12))"
            // Named by the set and the taken path: `sigma@8eaafff1f284:rules/…` (folders end in `/`).
            func parts(_ kind: RuleSource.Kind) -> [Detectors.RuleSet.Part] {
                cache.files(of: s, kind).map { .init(url: $0.url, label: "\(name):\($0.take.path)") }
            }
            return Detectors.RuleSet(name: name, licence: s.source.licence, sigma: parts(.sigma), yara: parts(.yara), baselines: parts(.baselines))
        }
    }
}
