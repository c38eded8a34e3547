import Foundation
import Testing
import HuntCore
import Reports
import Timeline
import TestSupport



/// A report built from real findings shapes, with evidence chosen to be hostile to renderers.
func report(host: String, verdict: Verdict, findings: [Finding]) -> HostReport {
    HostReport(version: "test", host: host, evidenceRoot: "/evidence/\(host)", generatedAt: Date(timeIntervalSince1970: 1_700_000_000),
               windowStart: Timestamp.parse("2021-01-03T00:00:00Z")!, verdict: verdict, verdictReasons: ["because <b>reasons</b>"],
               coverage: [Coverage(source: "HttpProxy/Ecp", logsource: .httpProxy, files: 3, lines: 300, bytes: 1000,
                                   earliest: Timestamp.parse("2021-01-01T00:00:00Z"), latest: Timestamp.parse("2021-03-09T00:00:00Z"), window: "full")],
               findings: findings, problems: [Problem(.warning, code: "invalid-utf8", message: "bad <bytes>", path: "a\"><img src=x onerror=alert(1)>.log", line: 3)],
               manifest: [ManifestEntry(path: "x/<script>y</script>.log", size: 10, sha256: String(repeating: "a", count: 64), bytesRead: 10, modified: nil)],
               stats: .init(files: 1, bytes: 10, logLines: 300, rulesLoaded: 1, seconds: 0.1))
}

func finding(_ time: String?, stage: String, role: VerdictRole, severity: Severity, message: String, ip: String? = nil,
             source: LogSource = .httpProxy, id: String = "r1") -> Finding {
    var fields: [String: String] = [:]
    if let ip { fields["ClientIpAddress"] = ip }
    fields["UserAgent"] = "python-requests/2.25.1"
    return Finding(rule: .init(id: id, title: "Rule \(id)", source: "builtin:x.yml", author: "exhunt"), cves: ["CVE-2021-26855"],
                   attack: ["T1190"], severity: severity, role: role, timestamp: time.flatMap { Timestamp.parse($0) }, source: source,
                   evidence: .init(location: EvidenceLocation(path: "Logging/HttpProxy/Ecp/a.LOG", line: 7, offset: 100), excerpt: message),
                   fields: fields, extracted: ["summary": message], stage: stage)
}

let hostile = "<script>document.title='PWNED'</script>\"><img src=x onerror=\"document.title='PWNED2'\">"

let sampleFindings = [
    finding("2021-02-28T01:02:12Z", stage: "exploitation", role: .compromised, severity: .critical, message: "SSRF to the back end", ip: "165.232.154.116"),
    finding("2021-02-26T22:14:09Z", stage: "probe", role: .attempted, severity: .low, message: "probe", ip: "104.248.49.97"),
    finding("2021-03-01T04:30:12Z", stage: "post-exploitation", role: .supporting, severity: .high, message: "LSASS dump", source: .evidenceFile),
    finding("2021-02-28T01:09:40Z", stage: "use", role: .compromised, severity: .high, message: hostile, ip: "165.232.154.116", source: .iis),
    finding("2021-02-28T01:05:03Z", stage: "persistence", role: .compromised, severity: .critical, message: "=cmd|' /C calc'!A0", source: .evidenceFile),
    finding(nil, stage: "persistence", role: .compromised, severity: .high, message: "@SUM(1+1) no time"),
]

@Suite(.timeLimit(.minutes(20))) struct TimelineTests {
    @Test func storyFollowsTheStagesInTimeOrder() {
        let t = FleetTimeline([report(host: "ex01", verdict: .compromised, findings: sampleFindings)])
        let times = t.entries.compactMap(\.timestamp)
        #expect(times == times.sorted())
        #expect(t.entries.last?.timestamp == nil, "entries without a time come last")
        let story = t.stories[0]
        #expect(story.stages.map(\.name) == ["First seen (probes and attempts)", "Exploitation", "Persistence (web shell written)",
                                             "Web shell used", "After the break-in"])
        #expect(story.firstSeen == Timestamp.parse("2021-02-26T22:14:09Z"))
        #expect(story.firstCompromise == Timestamp.parse("2021-02-28T01:02:12Z"))
        #expect(story.attackerAddresses == ["104.248.49.97", "165.232.154.116"])
        #expect(story.userAgents == ["python-requests/2.25.1"])
    }

    @Test func fleetMergeFindsTheEarliestCompromise() {
        let a = report(host: "ex01", verdict: .compromised, findings: sampleFindings)
        let b = report(host: "ex02", verdict: .compromised,
                       findings: [finding("2021-01-06T10:00:00Z", stage: "exploitation", role: .compromised, severity: .critical, message: "early")])
        let c = report(host: "ex03", verdict: .clean, findings: [])
        let t = FleetTimeline([a, b, c])
        #expect(t.entries.count == sampleFindings.count + 1)
        #expect(t.entries.first?.host == "ex02")
        #expect(t.earliestCompromise?.host == "ex02")
        #expect(t.stories.map(\.verdict) == [.compromised, .compromised, .clean])
        let text = ConsoleReport(colors: false).renderFleet(t)
        #expect(text.contains("Earliest compromise across the fleet: 2021-01-06T10:00:00Z on ex02"))
    }

    @Test func timesketchJSONLinesHaveTheMandatoryFields() throws {
        let t = FleetTimeline([report(host: "ex01", verdict: .compromised, findings: sampleFindings)])
        let (data, skipped) = try TimelineExport.timesketchJSONL(t)
        #expect(skipped == 1)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == sampleFindings.count - 1)
        for line in lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(o["message"] is String)
            #expect((o["datetime"] as? String)?.hasSuffix("+00:00") == true)
            #expect(o["timestamp_desc"] is String)
            #expect(o["timestamp"] is Int)
        }
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["timestamp"] as? Int == 1_614_377_649_000_000)
        #expect(first["datetime"] as? String == "2021-02-26T22:14:09.000000+00:00")
    }

    @Test(.enabled(if: pythonCommand != nil, "needs python3")) func timesketchCSVParsesBackAndCannotRunFormulas() throws {
        let t = FleetTimeline([report(host: "ex01", verdict: .compromised, findings: sampleFindings)])
        let (data, _) = TimelineExport.timesketchCSV(t)
        let dir = try tempDir()
        let csv = dir.appendingPathComponent("t.csv")
        try data.write(to: csv)
        // Python's csv module, a standard reader, reads the file back as JSON.
        let python = try #require(pythonCommand)
        let json = try run(python, ["-c", "import csv,json,sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='')))))", csv.path]).stdout
        let rows = try #require(try JSONSerialization.jsonObject(with: json) as? [[String: String]])
        #expect(rows.count == sampleFindings.count - 1)
        #expect(Set(rows[0].keys) == Set(TimelineExport.timesketchColumns))
        let formula = try #require(rows.first { $0["message"]?.contains("cmd|") == true })
        #expect(formula["message"]?.hasPrefix("'=") == true)
        #expect(rows.allSatisfy { row in row.values.allSatisfy { v in !["=", "+", "-", "@"].contains(v.first.map(String.init) ?? "") } })
        #expect(rows.contains { $0["message"] == hostile })
    }

    @Test func ecsRecordsHaveTheShapeElasticExpects() throws {
        let t = FleetTimeline([report(host: "ex01", verdict: .compromised, findings: sampleFindings)])
        let lines = String(decoding: try TimelineExport.ecsJSONL(t), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == sampleFindings.count)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(o["@timestamp"] as? String == "2021-02-26T22:14:09.000Z")
        #expect(o["event.kind"] as? String == "alert")
        #expect(o["host.name"] as? String == "ex01")
        #expect(o["rule.name"] as? String == "Rule r1")
        #expect(o["source.ip"] as? String == "104.248.49.97")
        #expect(o["vulnerability.id"] as? [String] == ["CVE-2021-26855"])
        #expect(o["threat.technique.id"] as? [String] == ["T1190"])
    }

    @Test func htmlEscapesEvidenceAndAllowsOnlyItsOwnScript() throws {
        let t = FleetTimeline([report(host: "ex01<i>", verdict: .compromised, findings: sampleFindings)])
        let html = try HTMLReport.render(t)
        #expect(!html.contains("<script>document.title"))
        #expect(!html.contains("<img src=x"))
        #expect(html.contains("&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;"))
        #expect(!html.contains("<i>"))
        #expect(html.contains("Content-Security-Policy"))
        #expect(html.contains("<svg"))
        #expect(!html.contains("http://") && !html.contains("https://"), "no network fetches")
    }

    /// The report in a real browser: no script from evidence runs, the page's own script runs,
    /// and the page is not blank.
    @Test(.enabled(if: chromiumCommand != nil, "needs chromium (Scripts/setup.sh --tests)"),
          .enabled(if: pythonCommand != nil, "needs python3 (reads the screenshot)"))
    func htmlIsSafeAndReadableInHeadlessChromium() throws {
        let chromium = try #require(chromiumCommand)
        let dir = try tempDir()
        let page = dir.appendingPathComponent("report.html")
        let t = FleetTimeline([report(host: "ex01", verdict: .compromised, findings: sampleFindings),
                               report(host: "ex02", verdict: .clean, findings: [])])
        try Data(HTMLReport.render(t).utf8).write(to: page)
        func headless(_ args: [String]) throws -> String {
            try run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                               "--user-data-dir=\(dir.appendingPathComponent("profile").path)"] + args).text
        }
        let dom = try headless(["--virtual-time-budget=3000", "--dump-dom", page.absoluteString])
        #expect(dom.contains("<title>exhunt report - 2 hosts</title>"), "a script from evidence changed the title")
        #expect(!dom.contains("PWNED</title>"))
        #expect(!dom.contains("<img src=\"x\""))
        // The page's own script ran (it fills in the shown-rows counter from the table).
        #expect(dom.contains("<span id=\"shown\">\(sampleFindings.count)</span>"))
        let shot = dir.appendingPathComponent("shot.png")
        _ = try headless(["--window-size=1280,2000", "--screenshot=\(shot.path)", page.absoluteString])
        let png = try Data(contentsOf: shot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try nonBackgroundFraction(png) > 0.02, "the screenshot looks blank")
    }

    /// The report's layout as a person sees it, at the two widths analysts use: times on one line,
    /// paths wrapped at their folders (not a letter at a time, the full path on hover), a badge in
    /// every family row, no "last" for a single hit, an empty timeline that says so, and the
    /// weight column. Measured in Chromium by a page that frames the report.
    @Test(.enabled(if: chromiumCommand != nil, "needs chromium (Scripts/setup.sh --tests)"),
          .enabled(if: pythonCommand != nil, "needs python3 (reads the screenshot)"))
    func htmlLayoutAt1280And1920() throws {
        let chromium = try #require(chromiumCommand)
        let dir = try tempDir()
        var findings = sampleFindings
        var deep = finding("2021-03-02T03:04:05Z", stage: "persistence", role: .compromised, severity: .critical, message: "web shell written",
                           source: .evidenceFile, id: "r2")
        deep.evidence.path = #"C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/Current/themes/resources/RedirSuiteServerProxy_backup_copy.aspx"#
        deep.count = 1
        findings.append(deep)
        var r = report(host: "ex01", verdict: .compromised, findings: findings)
        var unjudged = FamilyVerdict(family: "proxynotshell", title: "ProxyNotShell (September 2022)", verdict: .clean,
                                     reasons: ["the evidence ends before the window"], windowStart: Timestamp.parse("2022-08-01T00:00:00Z"), coveredBy: [])
        unjudged.judged = false
        r.families = [FamilyVerdict(family: "proxylogon", title: "ProxyLogon (HAFNIUM, March 2021)", verdict: .compromised, reasons: ["x"],
                                    windowStart: r.windowStart, coveredBy: ["HttpProxy"]), unjudged]
        let untimed = report(host: "ex03", verdict: .inconclusive, findings: [finding(nil, stage: "review", role: .supporting, severity: .low, message: "archive")])
        try Data(HTMLReport.render(FleetTimeline([r])).utf8).write(to: dir.appendingPathComponent("report.html"))
        let emptyHTML = try HTMLReport.render(FleetTimeline([untimed]))
        #expect(emptyHTML.contains("No finding has a time, so the timeline is empty"))
        let html = try HTMLReport.render(FleetTimeline([r]))
        #expect(html.contains("<th>Weight</th>") && html.contains("class=\"w-compromised\">compromised"))
        #expect(!html.contains("No finding has a time"))
        #expect(html.contains("title=\"\(deep.evidence.path):7\""), "the full path on hover")

        let probe = """
        <!DOCTYPE html><html><body style="margin:0"><iframe id="r" src="report.html" style="border:0;height:4000px"></iframe><pre id="out">waiting</pre>
        <script>
        var frame = document.getElementById("r");
        frame.style.width = (location.hash.slice(1) || "1280") + "px";
        frame.addEventListener("load", function () {
          var d = frame.contentDocument, out = [];
          function lines(el) {
            var tops = {}, range = d.createRange();
            range.selectNodeContents(el);
            Array.prototype.forEach.call(range.getClientRects(), function (rc) { if (rc.width > 0) { tops[Math.round(rc.top)] = 1; } });
            return Object.keys(tops).length;
          }
          d.querySelectorAll(".time").forEach(function (el) { if (el.textContent && lines(el) > 1) { out.push("time wraps: " + el.textContent); } });
          d.querySelectorAll("td.path").forEach(function (el) {
            var n = lines(el), chars = el.textContent.length / Math.max(n, 1);
            if (chars < 12) { out.push("path broken into " + n + " lines: " + el.textContent); }
          });
          d.querySelectorAll("table.families .verdict").forEach(function (el) {
            var bg = getComputedStyle(el).backgroundColor;
            if (!el.textContent || bg === "rgba(0, 0, 0, 0)" || bg === getComputedStyle(el).color) { out.push("family badge unreadable: " + el.textContent); }
          });
          d.querySelectorAll("td.hits").forEach(function (el) {
            if (el.textContent.indexOf("last") >= 0 && parseInt(el.textContent, 10) < 2) { out.push("single hit with a last: " + el.textContent); }
          });
          document.getElementById("out").textContent = "measured " + d.querySelectorAll("td.path").length + " paths\\n" + (out.join("\\n") || "ok");
        });
        </script></body></html>
        """
        let probePage = dir.appendingPathComponent("probe.html")
        try Data(probe.utf8).write(to: probePage)
        for width in [1280, 1920] {
            let dom = try run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                         "--allow-file-access-from-files", "--user-data-dir=\(dir.appendingPathComponent("profile").path)",
                                         "--window-size=\(width + 40),1200", "--virtual-time-budget=5000", "--dump-dom",
                                         probePage.absoluteString + "#\(width)"]).text
            let result = dom.range(of: "<pre id=\"out\">").map { String(dom[$0.upperBound...].prefix { $0 != "<" }) } ?? dom
            #expect(result.hasPrefix("measured ") && !result.hasPrefix("measured 0 "), "\(width): \(result)")
            #expect(result.hasSuffix("\nok"), "\(width) px: \(result)")
            let shot = dir.appendingPathComponent("report-\(width).png")
            _ = try run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                   "--user-data-dir=\(dir.appendingPathComponent("profile").path)", "--window-size=\(width),1600",
                                   "--screenshot=\(shot.path)", dir.appendingPathComponent("report.html").absoluteString])
            #expect(try nonBackgroundFraction(try Data(contentsOf: shot)) > 0.02, "the \(width) px screenshot looks blank")
        }
    }
}
