public import Foundation
public import HuntCore
import Yams

/// One row of `Rules/exchange/builds.csv`.
public struct BuildRelease: Sendable, Hashable {
    public var product: String
    /// The cumulative update (or RTM/SP1) the build belongs to.
    public var release: String
    /// The security or hotfix update, empty for the CU itself.
    public var update: String
    public var build: ExchangeBuild
    public var date: String
    public var kb: String
    public var note: String
    /// Listed as an SU by one source but not the other (see the data file's header).
    public var disputed: Bool { note.hasPrefix("disputed") }
    public var name: String { [product, release, update].filter { !$0.isEmpty }.joined(separator: " ") }
}

/// A vulnerability family and the update that fixes it (`Rules/exchange/families.yaml`).
public struct VulnerabilityFamily: Sendable, Hashable {
    public var name: String
    public var title: String
    public var cves: [String]
    public var fixedBy: String
    public var kb: String
    public var partialBy: String?
    public var partialNote: String?
    /// For hunting: where exploitation begins (`window_start`), the log sources whose lines count as
    /// coverage (`covered_by`, any of them) and, for people, what can show it (`shown_by`).
    public var windowStart: Date?
    public var coveredBy: [LogSource] = []
    public var shownBy: String?
}

public enum PatchStatus: String, Sendable, Codable, CaseIterable {
    case patched, vulnerable, uncertain, unknown
}

public struct FamilyStatus: Sendable, Hashable {
    public var family: String
    public var status: PatchStatus
    /// Why, in a sentence: the fixing build, the dispute, the partial fix.
    public var note: String

    public init(family: String, status: PatchStatus, note: String) { (self.family, self.status, self.note) = (family, status, note) }
}

/// What is known about an observed build.
public struct BuildAssessment: Sendable {
    public enum Precision: String, Sendable { case exact, cu }
    public var observed: String
    public var precision: Precision
    public var product: String?
    /// CU name, when the CU level is in the table.
    public var release: String?
    /// The table row for an exact build that is listed.
    public var known: BuildRelease?
    public var statuses: [FamilyStatus]
    public var notes: [String]

    public func status(_ family: String) -> PatchStatus { statuses.first { $0.family == family }?.status ?? .unknown }
}

public enum BuildKnowledgeError: Error, CustomStringConvertible {
    case malformed(file: String, line: Int, reason: String)
    public var description: String {
        switch self { case let .malformed(file, line, reason): "\(file):\(line): \(reason)" }
    }
}

/// Exchange build table plus the comparison rule that turns a build into a patch status per family.
public struct BuildKnowledge: Sendable {
    public let releases: [BuildRelease]
    public let families: [VulnerabilityFamily]

    public init(releases: [BuildRelease], families: [VulnerabilityFamily]) {
        self.releases = releases.sorted { $0.build < $1.build }
        self.families = families
    }

    /// Loads `builds.csv` and `families.yaml` from a folder (the shipped one is `Rules/exchange`).
    public static func load(directory: URL) throws -> BuildKnowledge {
        let csvURL = directory.appendingPathComponent("builds.csv")
        var releases: [BuildRelease] = []
        for (n, line) in try String(contentsOf: csvURL, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let f = CSVLine.split(trimmed)
            guard f.count >= 6 else { throw BuildKnowledgeError.malformed(file: "builds.csv", line: n + 1, reason: "expected 7 fields") }
            guard let build = ExchangeBuild(f[3]) else {
                throw BuildKnowledgeError.malformed(file: "builds.csv", line: n + 1, reason: "bad build number \(f[3])")
            }
            releases.append(BuildRelease(product: f[0], release: f[1], update: f[2], build: build, date: f[4], kb: f[5],
                                         note: f.count > 6 ? f[6...].joined(separator: ",") : ""))
        }
        let yamlURL = directory.appendingPathComponent("families.yaml")
        guard let list = try Yams.load(yaml: String(contentsOf: yamlURL, encoding: .utf8)) as? [[String: Any]] else {
            throw BuildKnowledgeError.malformed(file: "families.yaml", line: 1, reason: "expected a list of families")
        }
        let families = try list.enumerated().map { i, m -> VulnerabilityFamily in
            guard let name = m["family"] as? String, let fixed = m["fixed_by"] as? String else {
                throw BuildKnowledgeError.malformed(file: "families.yaml", line: i + 1, reason: "family \(i + 1) needs `family` and `fixed_by`")
            }
            var window: Date?
            if let start = m["window_start"] {
                // Yams reads an unquoted date as a Date, a quoted one as a string.
                window = start as? Date ?? (start as? String).flatMap(Self.day)
                guard window != nil else {
                    throw BuildKnowledgeError.malformed(file: "families.yaml", line: i + 1, reason: "window_start wants YYYY-MM-DD")
                }
            }
            let covered = (m["covered_by"] as? [[String: Any]] ?? []).map {
                LogSource(product: $0["product"] as? String, category: $0["category"] as? String, service: $0["service"] as? String)
            }
            return VulnerabilityFamily(name: name, title: m["title"] as? String ?? name, cves: m["cves"] as? [String] ?? [],
                                       fixedBy: fixed, kb: m["kb"] as? String ?? "",
                                       partialBy: m["partial_by"] as? String, partialNote: m["partial_note"] as? String,
                                       windowStart: window, coveredBy: covered, shownBy: m["shown_by"] as? String)
        }
        return BuildKnowledge(releases: releases, families: families)
    }

    static func day(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate]
        return f.date(from: text)
    }

    // MARK: Lookup

    public func release(of build: ExchangeBuild) -> BuildRelease? {
        releases.first { $0.build == build && !$0.disputed }
    }

    /// Product name: the product of the nearest listed build at or below this CU level of the same major version.
    public func product(of level: CULevel) -> String? {
        releases.last { $0.build.major == level.major && $0.build.minor == level.minor && $0.build.cuLevel <= level }?.product
    }

    /// The CU (or RTM/SP1) name of a CU level, when it is in the table.
    public func releaseName(of level: CULevel) -> String? {
        releases.first { $0.build.cuLevel == level }?.release
    }

    // MARK: Assessment

    public func assess(_ build: ExchangeBuild) -> BuildAssessment {
        var notes: [String] = []
        let known = release(of: build)
        let releaseName = releaseName(of: build.cuLevel)
        if let disputed = releases.first(where: { $0.build == build && $0.disputed }) {
            notes.append("build \(build) is \(disputed.name) only by one source (\(disputed.note.dropFirst("disputed: ".count)))")
        } else if known == nil {
            notes.append(releaseName == nil
                ? "build \(build) is not in the build table; status follows from its position between listed builds"
                : "build \(build) is not in the build table (an update of \(releaseName!) newer or other than those listed)")
        }
        return BuildAssessment(observed: build.description, precision: .exact, product: product(of: build.cuLevel),
                               release: releaseName, known: known,
                               statuses: families.map { status(of: build, in: $0) }, notes: notes)
    }

    /// A CU-level observation stands for every update of that CU: a family's status is certain only
    /// when the CU itself and all its listed updates agree.
    public func assess(_ level: CULevel) -> BuildAssessment {
        var candidates = releases.filter { $0.build.cuLevel == level && !$0.disputed }.map(\.build)
        if candidates.isEmpty {
            candidates = [ExchangeBuild(level.major, level.minor, level.build, 0)]
        }
        // An update newer than the table knows would sit above every listed one.
        candidates.append(ExchangeBuild(level.major, level.minor, level.build, 99_999))
        let statuses = families.map { family -> FamilyStatus in
            let each = candidates.map { (build: $0, status: status(of: $0, in: family)) }
            let kinds = Set(each.map(\.status.status))
            if kinds.count == 1, let only = kinds.first, let newest = each.last {
                return FamilyStatus(family: family.name, status: only, note: newest.status.note)
            }
            let firstPatched = each.first { $0.status.status == .patched }?.build
            return FamilyStatus(family: family.name, status: .uncertain,
                                note: "only the CU level \(level) is known: builds of this CU are patched "
                                    + (firstPatched.map { "from \($0) on" } ?? "only with some updates"))
        }
        return BuildAssessment(observed: level.description, precision: .cu, product: product(of: level),
                               release: releaseName(of: level), known: nil, statuses: statuses,
                               notes: ["CU-level evidence only: the security update installed is not visible"])
    }

    /// HealthChecker's rule (Rules/exchange/families.yaml explains it).
    public func status(of build: ExchangeBuild, in family: VulnerabilityFamily) -> FamilyStatus {
        let sameMajor = releases.filter { $0.build.major == build.major && $0.build.minor == build.minor }
        let fixes = sameMajor.filter { $0.update == family.fixedBy && !$0.disputed }
        guard let newestFix = fixes.last else {
            return FamilyStatus(family: family.name, status: .unknown,
                                note: "no \(family.fixedBy) exists for this version; it is outside the advisories and out of support")
        }
        if build >= newestFix.build {
            return FamilyStatus(family: family.name, status: .patched, note: "at or above \(newestFix.name) (\(newestFix.build))")
        }
        if let ownFix = fixes.first(where: { $0.build.cuLevel == build.cuLevel }) {
            if build >= ownFix.build {
                return FamilyStatus(family: family.name, status: .patched, note: "at or above \(ownFix.name) (\(ownFix.build))")
            }
            if let disputed = sameMajor.first(where: { $0.disputed && $0.update == family.fixedBy && $0.build.cuLevel == build.cuLevel }),
               build >= disputed.build {
                return FamilyStatus(family: family.name, status: .uncertain,
                                    note: "sources disagree on the \(family.fixedBy) build of this CU (\(disputed.build) or \(ownFix.build))")
            }
            var note = "below \(ownFix.name) (\(ownFix.build))"
            if let partial = family.partialBy,
               let p = sameMajor.first(where: { $0.update == partial && $0.build.cuLevel == build.cuLevel }), build >= p.build {
                note += "; " + (family.partialNote ?? "partly fixed by \(partial)")
            }
            return FamilyStatus(family: family.name, status: .vulnerable, note: note)
        }
        return FamilyStatus(family: family.name, status: .vulnerable,
                            note: "no \(family.fixedBy) was released for this CU; first fixed in \(newestFix.name) (\(newestFix.build)) or a later CU")
    }
}
