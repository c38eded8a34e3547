import Foundation
import Testing
@testable import Sigma
import HuntCore

func rule(_ detection: String, logsource: String = "product: exchange\n  service: httpproxy", extra: String = "") throws -> SigmaRule {
    let yaml = """
    title: test rule
    id: t-1
    logsource:
      \(logsource)
    detection:
    \(detection.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
    level: high
    \(extra)
    """
    return try RuleLoader().load(yaml: yaml, file: "test.yml")
}

func event(_ fields: [String: String], raw: String? = nil) -> Event {
    var e = Event(source: .httpProxy, timestamp: nil, location: EvidenceLocation(path: "x"),
                  raw: raw ?? fields.values.sorted().joined(separator: ","))
    for (k, v) in fields { e.set(k, v) }
    return e
}

@Suite(.timeLimit(.minutes(20))) struct SigmaSpecificationTests {
    /// "windash: Creates all possible permutations of the -, /, – (en dash), — (em dash), and ―
    /// (horizontal bar) characters." Each switch independently, in mixed forms too.
    @Test func windashGivesEveryPermutation() throws {
        #expect(try RuleLoader.windash(" -s -i cmd").count == 25)
        #expect(try RuleLoader.windash(" -s -i cmd").contains(" /s -i cmd"))
        #expect(try RuleLoader.windash(" -s -i cmd").contains(" -s \u{2015}i cmd"))
        #expect(try RuleLoader.windash("Get-Process -Name x") == ["Get-Process -Name x", "Get-Process /Name x",
                                                                  "Get-Process \u{2013}Name x", "Get-Process \u{2014}Name x",
                                                                  "Get-Process \u{2015}Name x"])
        let renamed = try rule("sel:\n  CommandLine|windash|contains: ' /accepteula'\ncondition: sel",
                               logsource: "product: windows\n  category: process_creation")
        #expect(renamed.matches(event(["CommandLine": "procdump.exe -accepteula -ma lsass.exe"])))
        let mixed = try rule("sel:\n  CommandLine|windash|contains: ' -s -i cmd'\ncondition: sel",
                             logsource: "product: windows\n  category: process_creation")
        #expect(mixed.matches(event(["CommandLine": "psexec \\\\host -s /i cmd"])))
        #expect(mixed.matches(event(["CommandLine": "psexec \\\\host \u{2014}s -i cmd"])))
        #expect(!mixed.matches(event(["CommandLine": "psexec \\\\host -s -x cmd"])))
    }

    /// "exists: ... this check only verifies the presence of a field, not its value, be it empty
    /// or null."
    @Test func existsChecksPresenceOnly() throws {
        let present = try rule("sel:\n  PasswordLastSet|exists: true\ncondition: sel")
        let absent = try rule("sel:\n  PasswordLastSet|exists: false\ncondition: sel")
        #expect(present.matches(event(["PasswordLastSet": ""])))
        #expect(present.matches(event(["PasswordLastSet": "-"])))
        #expect(!present.matches(event(["Other": "x"])))
        #expect(absent.matches(event(["Other": "x"])))
        #expect(!absent.matches(event(["PasswordLastSet": ""])))
    }

    /// "`?` to replace a single mandatory character": a character, not a byte of its UTF-8.
    @Test func questionMarkIsOneCharacter() throws {
        let r = try rule("sel:\n  TargetFilename: 'C:\\Users\\Ren?\\x.exe'\ncondition: sel")
        #expect(r.matches(event(["TargetFilename": "C:\\Users\\René\\x.exe"])))
        #expect(r.matches(event(["TargetFilename": "C:\\Users\\Rene\\x.exe"])))
        #expect(!r.matches(event(["TargetFilename": "C:\\Users\\Ren\\x.exe"])))
        let two = try rule("sel:\n  Name: 'a??b'\ncondition: sel")
        #expect(two.matches(event(["Name": "a\u{1F600}éb"])))
        #expect(!two.matches(event(["Name": "a\u{1F600}b"])))
    }

    /// A field mapping renames only the fields of rules whose logsource it names: the proxy
    /// mapping (category proxy) leaves a Windows rule's `c-ip` alone.
    @Test func fieldMappingsApplyOnlyToTheirLogsource() throws {
        let mappings = try RuleLoader.loadMappings(in: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Rules/mappings"))
        let loader = RuleLoader(mappings: mappings)
        func load(_ logsource: String) throws -> SigmaRule {
            try loader.load(yaml: "title: t\nid: t-2\nlogsource:\n  \(logsource)\ndetection:\n  sel:\n    c-ip: 203.0.113.7\n  condition: sel\nlevel: high\n",
                            file: "t.yml")
        }
        let windows = try load("product: windows")
        #expect(windows.matches(event(["c-ip": "203.0.113.7"])))
        #expect(!windows.matches(event(["ClientIpAddress": "203.0.113.7"])))
        let proxy = try load("category: proxy")
        #expect(proxy.matches(event(["ClientIpAddress": "203.0.113.7"])))
    }
}

@Suite(.timeLimit(.minutes(20))) struct SigmaEngineTests {
    /// A rule's regular expression meets attacker-controlled values: a backtracking pattern on a
    /// crafted value gives up after its step budget (counted, so the hunt reports it) instead of
    /// running for hours; ordinary matches are unaffected. Patterns have a size limit.
    @Test func regularExpressionsHaveABudget() throws {
        let r = try rule("sel:\n  UrlStem|re: '^(a+)+$'\ncondition: sel")
        #expect(r.matches(event(["UrlStem": "aaaa"])))
        let started = ContinuousClock.now
        #expect(!r.matches(event(["UrlStem": String(repeating: "a", count: 40) + "!"])))
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(r.regexOverruns == 1)
        #expect(r.matches(event(["UrlStem": "aa"])))
        #expect(r.regexOverruns == 1)
        let huge = String(repeating: "a", count: RegexBox.maxPatternLength + 1)
        #expect(throws: SigmaError.self) { try rule("sel:\n  UrlStem|re: '\(huge)'\ncondition: sel") }
    }

    @Test func plainValuesAreCaseInsensitiveWholeValueMatches() throws {
        let r = try rule("sel:\n  HttpStatus: 200\n  Method: post\ncondition: sel")
        #expect(r.matches(event(["HttpStatus": "200", "Method": "POST"])))
        #expect(!r.matches(event(["HttpStatus": "2000", "Method": "POST"])))
        #expect(!r.matches(event(["HttpStatus": "200"])))
    }

    @Test func wildcardsAndEscapes() throws {
        let r = try rule("sel:\n  AnchorMailbox: 'ServerInfo~*/*'\ncondition: sel")
        #expect(r.matches(event(["AnchorMailbox": "serverinfo~a]@x:444/ecp/proxyLogon.ecp?#"])))
        #expect(!r.matches(event(["AnchorMailbox": "ServerInfo~localhost"])))
        let escaped = try rule("sel:\n  F: 'a\\*b?'\ncondition: sel")
        #expect(escaped.matches(event(["F": "a*bc"])))
        #expect(!escaped.matches(event(["F": "axbc"])))
        let backslash = try rule("sel:\n  F|endswith: '\\w3wp.exe'\ncondition: sel")
        #expect(backslash.matches(event(["F": "C:\\Windows\\System32\\inetsrv\\W3WP.EXE"])))
    }

    @Test func modifiers() throws {
        let r = try rule("sel:\n  F|contains|all:\n    - foo\n    - bar\n  G|startswith: ab\n  H|endswith: yz\n  I|re: '^x[0-9]+$'\ncondition: sel")
        #expect(r.matches(event(["F": "xxBARxxFOO", "G": "ABc", "H": "xYZ", "I": "x12"])))
        #expect(!r.matches(event(["F": "xxBARxx", "G": "ABc", "H": "xYZ", "I": "x12"])))
        #expect(!r.matches(event(["F": "foobar", "G": "ABc", "H": "xYZ", "I": "X12"])), "re is case-sensitive")
        let cased = try rule("sel:\n  F|contains|cased: Foo\ncondition: sel")
        #expect(cased.matches(event(["F": "xFoo"])))
        #expect(!cased.matches(event(["F": "xfoo"])))
        let reI = try rule("sel:\n  F|re|i: '^abc$'\ncondition: sel")
        #expect(reI.matches(event(["F": "ABC"])))
    }

    @Test func nullExistsAndKeywords() throws {
        let r = try rule("sel:\n  User: null\nkw:\n  - 'evil'\n  - 'bad'\ncondition: sel and kw")
        #expect(r.matches(event(["User": ""], raw: "an EVIL line")))
        #expect(!r.matches(event(["User": "bob"], raw: "an evil line")))
        #expect(!r.matches(event([:], raw: "a good line")))
        let all = try rule("kw:\n  '|all':\n    - Set-\n    - VirtualDirectory\ncondition: kw")
        #expect(all.matches(event([:], raw: "Set-OabVirtualDirectory")))
        #expect(!all.matches(event([:], raw: "Get-OabVirtualDirectory")))
        let exists = try rule("sel:\n  F|exists: true\ncondition: sel")
        #expect(exists.matches(event(["F": "1"])))
        #expect(!exists.matches(event(["G": "1"])))
    }

    @Test func conditionsWithPatternsNotAndParentheses() throws {
        let r = try rule("sel_a:\n  A: 1\nsel_b:\n  B: 1\nfilter:\n  C: 1\ncondition: (1 of sel_*) and not filter")
        #expect(r.matches(event(["A": "1"])))
        #expect(r.matches(event(["B": "1"])))
        #expect(!r.matches(event(["A": "1", "C": "1"])))
        let all = try rule("sel_a:\n  A: 1\nsel_b:\n  B: 1\ncondition: all of sel_*")
        #expect(all.matches(event(["A": "1", "B": "1"])))
        #expect(!all.matches(event(["A": "1"])))
        let them = try rule("a:\n  A: 1\nb:\n  B: 1\ncondition: 1 of them")
        #expect(them.matches(event(["B": "1"])))
        let prec = try rule("a:\n  A: 1\nb:\n  B: 1\nc:\n  C: 1\ncondition: a or b and c")
        #expect(prec.matches(event(["A": "1"])), "and binds tighter than or")
        #expect(!prec.matches(event(["B": "1"])))
    }

    @Test func listOfMapsIsOr() throws {
        let r = try rule("sel:\n  - A: 1\n    B: 2\n  - C: 3\ncondition: sel")
        #expect(r.matches(event(["A": "1", "B": "2"])))
        #expect(r.matches(event(["C": "3"])))
        #expect(!r.matches(event(["A": "1"])))
    }

    @Test func unsupportedFeaturesAreRejectedWithTheReason() {
        #expect(throws: SigmaError.self) { try rule("sel:\n  F|nosuchmodifier: x\ncondition: sel") }
        do {
            _ = try rule("sel:\n  A: 1\ntimeframe: 5m\ncondition: sel")
            Issue.record("should fail")
        } catch let e as SigmaError {
            #expect(e.isUnsupported)
            #expect(e.description.contains("timeframe"))
            #expect(e.file == "test.yml")
        } catch { Issue.record("\(error)") }
        #expect(throws: SigmaError.self) { try rule("sel:\n  A: 1\ncondition: sel | count() > 5") }
        #expect(throws: SigmaError.self) { try rule("sel:\n  A: 1\ncondition: nosuch") }
        #expect(throws: SigmaError.self) { try rule("sel:\n  A: 1\ncondition: (sel") }
    }

    /// `expand` takes the site's values; without them the rule waits (named), it is not rejected.
    @Test func expandPlaceholders() throws {
        let detection = "sel:\n  CommandLine|contains|expand: '%UserDomain%\\\\'\n  Host|expand: '%hosts%'\ncondition: sel"
        do {
            _ = try rule(detection)
            Issue.record("should wait for values")
        } catch let e as SigmaError {
            #expect(e.needsValues && !e.isUnsupported)
            #expect(e.reason == .needsValues(["%UserDomain%"]) || e.reason == .needsValues(["%hosts%"]))
        }
        let yaml = "title: t\nlogsource:\n  product: exchange\ndetection:\n" + detection.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        let loader = RuleLoader(placeholders: ["userdomain": ["CONTOSO", "FABRIKAM"], "Hosts": ["ex01", "ex02*"]])
        let r = try loader.load(yaml: yaml, file: "t.yml")
        #expect(r.matches(event(["CommandLine": "net user /domain fabrikam\\admin", "Host": "EX02.corp"])))
        #expect(r.matches(event(["CommandLine": "x contoso\\y", "Host": "ex01"])))
        #expect(!r.matches(event(["CommandLine": "x contoso\\y", "Host": "ex03"])))
        #expect(!r.matches(event(["CommandLine": "x other\\y", "Host": "ex01"])))
        #expect(!r.matches(event(["CommandLine": "x contoso y", "Host": "ex01"])))
    }

    @Test func placeholderFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("exhunt-ph-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("ph.yml")
        try "'%Workstations%': [ws1, ws2]\nDomainControllers: dc1\n".write(to: good, atomically: false, encoding: .utf8)
        #expect(try RuleLoader.loadPlaceholders(good) == ["workstations": ["ws1", "ws2"], "domaincontrollers": ["dc1"]])
        let bad = dir.appendingPathComponent("bad.yml")
        try "Workstations: {a: 1}\n".write(to: bad, atomically: false, encoding: .utf8)
        #expect(throws: SigmaError.self) { try RuleLoader.loadPlaceholders(bad) }
    }

    @Test func specificationModifiers() throws {
        let windash = try rule("sel:\n  CommandLine|windash|contains: ' -enc '\ncondition: sel")
        #expect(windash.matches(event(["CommandLine": "powershell /enc AAAA"])))
        #expect(windash.matches(event(["CommandLine": "powershell \u{2013}enc AAAA"])))
        #expect(!windash.matches(event(["CommandLine": "powershell enc"])))
        let cidr = try rule("sel:\n  c-ip|cidr:\n    - '10.0.0.0/8'\n    - 'fe80::/10'\ncondition: sel")
        #expect(cidr.matches(event(["c-ip": "10.20.30.40"])))
        #expect(cidr.matches(event(["c-ip": "fe80::1%3"])))
        #expect(!cidr.matches(event(["c-ip": "11.0.0.1"])))
        // base64offset: 'http' base64-encoded at any alignment inside a longer encoded blob.
        let b64 = try rule("sel:\n  CommandLine|base64offset|contains: 'http://'\ncondition: sel")
        for prefix in ["", "a", "ab"] {
            let blob = Data((prefix + "http://evil/x").utf8).base64EncodedString()
            #expect(b64.matches(event(["CommandLine": "powershell -enc " + blob])), "\(prefix)")
        }
        #expect(!b64.matches(event(["CommandLine": Data("ftp://x".utf8).base64EncodedString()])))
        let wide = try rule("sel:\n  CommandLine|wide|base64offset|contains: 'Invoke'\ncondition: sel")
        let utf16 = Data("IEX; Invoke-Expression".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }).base64EncodedString()
        #expect(wide.matches(event(["CommandLine": "powershell -enc " + utf16])))
        let ref = try rule("sel:\n  ParentImage|fieldref: Image\ncondition: sel")
        #expect(ref.matches(event(["ParentImage": "C:\\x.exe", "Image": "c:\\X.EXE"])))
        #expect(!ref.matches(event(["ParentImage": "C:\\x.exe", "Image": "C:\\y.exe"])))
        let numbers = try rule("a:\n  sc-status|gte: 500\nb:\n  time-taken|lt: 10\ncondition: a and b")
        #expect(numbers.matches(event(["sc-status": "503", "time-taken": "9"])))
        #expect(!numbers.matches(event(["sc-status": "200", "time-taken": "9"])))
        #expect(!numbers.matches(event(["sc-status": "abc", "time-taken": "9"])))
        let neq = try rule("sel:\n  User|neq: SYSTEM\ncondition: sel")
        #expect(neq.matches(event(["User": "bob"])))
        #expect(!neq.matches(event(["User": "system"])))
    }

    @Test func cvesAndAttackFromTags() throws {
        let r = try rule("sel:\n  A: 1\ncondition: sel", extra: "tags:\n  - attack.t1190\n  - cve.2021-26855\n  - attack.initial-access")
        #expect(r.cves == ["CVE-2021-26855"])
        #expect(r.attack == ["T1190"])
    }

    @Test func extractAndSummary() throws {
        let r = try rule("sel:\n  Message|contains: 'temporary file'\ncondition: sel",
                         extra: "exhunt:\n  verdict: attempted\n  summary: 'wrote {path} {Message}'\n  extract:\n    - name: path\n      field: Message\n      re: \"file '(.*?)' needs\"")
        let e = event(["Message": "temporary file 'C:\\x{y}.aspx' needs to be removed"])
        let x = r.extract(e)
        #expect(x["path"] == "C:\\x{y}.aspx")
        #expect(r.declaredRole == .attempted)
        #expect(r.sentence(for: e, extracted: x).hasPrefix("wrote C:\\x{y}.aspx temporary file"))
    }

    /// Rules whose literals the prefilter and the rule index rely on: a negation, quotes, `|all`, keywords.
    static func literalRules() throws -> [SigmaRule] {
        [
            try rule("ssrf:\n  AnchorMailbox: 'ServerInfo~*/*'\nprobe:\n  AnchorMailbox|startswith: 'ServerInfo~localhost'\ncondition: ssrf and not probe"),
            try rule("a:\n  F|contains:\n    - abc\n    - 'x\"yz'\nb:\n  G: q*r\ncondition: a or b"),
            try rule("a:\n  F|contains|all:\n    - abc\n    - def\ncondition: a"),
            try rule("kw:\n  - evil\n  - worse\ncondition: kw"),
        ]
    }

    /// The prefilter is sound: whenever a rule matches an event, the event's raw text contains
    /// one of the rule's literals. Checked on random events built from the rules' own words.
    @Test func prefilterLiteralsAreSound() throws {
        let rules = try Self.literalRules()
        let words = ["ServerInfo~", "localhost", "/", "a", "abc", "x\"yz", "def", "q", "r", "evil", "worse", "zz", ""]
        // Seeded, so a failure can be made again.
        print("seed 20210305")
        var rng = SplitMix(seed: 20210305)
        var matched = 0
        for _ in 0..<4000 {
            let fields = ["AnchorMailbox", "F", "G"].reduce(into: [String: String]()) { acc, name in
                acc[name] = (0..<Int.random(in: 0...3, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined()
            }
            // The raw line holds the values the way CSV writes them: quotes doubled.
            let e = event(fields, raw: fields.values.map { $0.replacingOccurrences(of: "\"", with: "\"\"") }.joined(separator: ","))
            for r in rules where r.matches(e) {
                matched += 1
                let lits = try #require(r.literals)
                #expect(lits.contains { e.raw.lowercased().contains($0) }, "\(fields) \(lits)")
            }
        }
        #expect(matched > 100)
        #expect(try rule("a:\n  F|re: x\ncondition: a").literals == nil)
        #expect(try rule("a:\n  F: x\ncondition: not a").literals == nil)
    }

    /// The rule index may skip a rule only when the rule cannot match: over random events, every
    /// matching rule is among the candidates, and the gates do skip rules.
    @Test func ruleIndexNeverSkipsAMatch() throws {
        let rules = try Self.literalRules() + [
            // Exact short values gate through the field index, long ones through literals.
            try rule("a:\n  G:\n    - q\n    - ''\n    - 'EVIL'\n    - abcdef*\ncondition: a"),
            try rule("a:\n  - F: r\n  - G|endswith: worse\ncondition: a"),
            // Short prefixes and suffixes gate through one field's value.
            try rule("a:\n  F|endswith: 'z'\nb:\n  G|startswith: 'Q'\ncondition: a or b"),
            // No gate: always checked (and rule 1 too: `q*r` has no literal of three bytes).
            try rule("a:\n  F|re: 'a.c'\ncondition: a"),
            try rule("a:\n  F: x\ncondition: not a"),
        ]
        let index = RuleIndex(rules)
        #expect(index.gateCounts.gated == 6 && index.gateCounts.always == 3)
        let words = ["ServerInfo~", "localhost", "/", "a", "abc", "x\"yz", "def", "q", "r", "evil", "EVIL", "worse", "zz", ""]
        print("seed 20210302")
        var rng = SplitMix(seed: 2021_03_02)
        var matched = 0, skipped = 0
        var candidates: [Int32] = []
        for _ in 0..<4000 {
            let fields = ["AnchorMailbox", "F", "G"].reduce(into: [String: String]()) { acc, name in
                acc[name] = (0..<Int.random(in: 0...3, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined()
            }
            let e = event(fields, raw: fields.values.map { $0.replacingOccurrences(of: "\"", with: "\"\"") }.joined(separator: ","))
            index.candidates(text: e.raw, event: e, into: &candidates)
            skipped += rules.count - candidates.count
            for (i, r) in rules.enumerated() where r.matches(e) {
                matched += 1
                #expect(candidates.contains(Int32(i)), "rule \(i) matches \(fields) but was not a candidate")
            }
        }
        #expect(matched > 100)
        #expect(skipped > 4000)
    }
}
