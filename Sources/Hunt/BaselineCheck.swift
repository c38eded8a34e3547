import Foundation
import HuntCore
import Evidence
import Baselines
import Sigma
import Findings

/// After every file is read: each file of Exchange's web folders that was hashed, judged against
/// Microsoft's baselines of the builds the server has installed (the builds its logs name and its
/// version folders hold; every loaded build when neither tells). Known-good files say nothing;
/// a modified or unknown one is an `evidence-file` event with `Baseline` set, for the rules that
/// read it (Rules/sigma/files/file_exchange_*), which weigh it as policy.
enum BaselineCheck {
    /// What the web folders' files are compared on: pages, handlers, services, scripts, configuration and binaries.
    static let compared: Set<String> = ["aspx", "ashx", "asmx", "asax", "svc", "js", "config", "dll", "htm", "html", "css"]

    /// Returns the evidence paths of the files found to be Exchange's own, with the builds whose
    /// baselines hold them (for the policy's second look).
    @discardableResult
    static func run(items: [EvidenceItem], context: HuntContext) -> [String: String] {
        guard let baselines = context.detectors.baselines, !baselines.isEmpty else { return [:] }
        let snapshot = context.sink.snapshot()
        let hashed = Dictionary(snapshot.manifest.compactMap { m in m.sha256.map { (m.path, $0) } }, uniquingKeysWith: { a, _ in a })
        // The builds installed: the logs' and the version folders'.
        var installed = Set(snapshot.builds.compactMap { ExchangeBaselines.build($0.build) })
        for item in items { installed.formUnion(ExchangeBaselines.versionFolders(inWindowsPath: item.windowsPath)) }
        // A three-part folder name (15.1.2176) stands for the loaded builds it begins.
        let loaded = baselines.builds
        var compareWith = Set<String>()
        for b in installed {
            compareWith.formUnion(loaded.filter { $0 == b || $0.hasPrefix(b + ".") })
        }
        let missing = installed.filter { b in !loaded.contains { $0 == b || $0.hasPrefix(b + ".") } }.sorted()
        var notes: [String] = []
        if installed.isEmpty {
            notes.append("the installed Exchange build is not told by the evidence (no log headers or version folders): files were compared with every loaded baseline (\(loaded.joined(separator: ", ")))")
        } else if compareWith.isEmpty {
            context.sink.add([Problem(.warning, code: "baselines",
                                      message: "no baseline loaded for the installed build(s) \(installed.sorted().joined(separator: ", ")) "
                                          + "(loaded: \(loaded.joined(separator: ", "))): Exchange's web files were not compared")])
            return [:]
        }
        if !missing.isEmpty {
            notes.append("no baseline loaded for \(missing.joined(separator: ", ")): files of its version folders may read as unknown")
        }
        let rules = context.detectors.rules(for: .evidenceFile).filter { $0.reads("Baseline") }
        // What the matchers already saw in each file: the content reason of a mismatch.
        var matchedBy: [String: Set<String>] = [:]
        for f in snapshot.findings where f.severity >= .low && f.origin?.place != nil {
            // YARA rules are named for what they find; Sigma rules by their titles.
            matchedBy[f.evidence.path, default: []].insert(f.origin?.detector == .yara ? f.rule.id : f.rule.title)
        }
        var counts: [String: Int] = [:]
        var unhashed: [String] = []
        var knownGood: [String: String] = [:]
        let installedList = compareWith.sorted()
        for item in items where compared.contains(item.fileExtension) && !item.deleted && ExchangeBaselines.relativePath(ofWindowsPath: item.windowsPath) != nil {
            // A file whose hash is not known (not collected, or not read to its end) cannot be judged: said below.
            guard let sha = hashed[item.path] else {
                unhashed.append(item.path)
                continue
            }
            guard let judgement = baselines.judge(windowsPath: item.windowsPath, sha256: sha, installed: installedList) else { continue }
            if case .knownGood(let build) = judgement {
                counts["known-good", default: 0] += 1
                knownGood[item.path] = "Exchange's own file in the baseline of \(build)"
                continue
            }
            var event = FileCheck.event(for: item)
            event.set("SHA256", sha)
            if let seen = matchedBy[item.path], !seen.isEmpty {
                event.set("ContentReason", "its content is what " + seen.sorted().prefix(5).joined(separator: "; ") + " matched")
            } else {
                event.set("ContentReason", "no rule matched its content: compare it with the build's own copy")
            }
            switch judgement {
            case .knownGood:
                continue
            case .modified(let builds):
                counts["modified", default: 0] += 1
                event.set("Baseline", "modified")
                event.set("BaselineBuilds", builds.joined(separator: ", "))
            case .unknown:
                counts["unknown", default: 0] += 1
                event.set("Baseline", "unknown")
                event.set("BaselineBuilds", compareWith.isEmpty ? loaded.joined(separator: ", ") : compareWith.sorted().joined(separator: ", "))
            }
            for rule in rules where rule.matches(event) {
                var finding = context.factory.finding(rule, event)
                finding.evidence.sha256 = sha
                finding.evidence.size = item.size
                finding.evidence.modified = item.lastWritten
                let f = finding
                context.factory.record(rule.identity, rule, event) { f }
            }
        }
        if !unhashed.isEmpty {
            notes.append("\(unhashed.count) of Exchange's web files were not compared, their content not being in the evidence or not read to its end "
                         + "(\(unhashed.prefix(5).joined(separator: ", "))\(unhashed.count > 5 ? ", …" : ""))")
        }
        // What the comparison could not settle is said; the counts go with it.
        guard !notes.isEmpty else { return knownGood }
        let summary = ["known-good", "modified", "unknown"].map { "\(counts[$0, default: 0]) \($0)" }.joined(separator: ", ")
        let against = (compareWith.isEmpty ? loaded : compareWith.sorted()).joined(separator: ", ")
        context.sink.add([Problem(.warning, code: "baselines", message: "Exchange's web files compared with the baselines of \(against) (\(summary)): "
                                    + notes.joined(separator: "; "))])
        return knownGood
    }
}
