import ArgumentParser
import Foundation
import Reports
import Timeline

/// Timeline and report outputs shared by `hunt` and `timeline`.
struct ExportOptions: ParsableArguments {
    @Option(name: .long, help: "Write the timeline for Timesketch: FILE.jsonl or FILE.csv.")
    var timeline: String?

    @Option(name: .long, help: "Write the findings as ECS JSON Lines (Elastic, Splunk).")
    var ecs: String?

    @Option(name: .long, help: "Write a self-contained HTML report.")
    var html: String?

    func validate() throws {
        if let timeline, !(timeline.lowercased().hasSuffix(".jsonl") || timeline.lowercased().hasSuffix(".csv")) {
            throw ValidationError("--timeline wants a file name ending in .jsonl or .csv (Timesketch decides the format by it)")
        }
    }

    /// These outputs as `OutputCheck` takes them.
    var outputs: [(option: String, path: String?, kind: OutputCheck.Kind)] {
        [("--timeline", timeline, .file), ("--ecs", ecs, .file), ("--html", html, .file)]
    }

    func write(_ t: FleetTimeline) throws {
        if let timeline {
            let (data, skipped) = timeline.lowercased().hasSuffix(".csv") ? TimelineExport.timesketchCSV(t) : try TimelineExport.timesketchJSONL(t)
            try data.write(to: URL(fileURLWithPath: timeline))
            if skipped > 0 { Terminal.error("\(skipped) finding(s) without a time left out of \(timeline)") }
        }
        if let ecs { try TimelineExport.ecsJSONL(t).write(to: URL(fileURLWithPath: ecs)) }
        if let html { try Data(HTMLReport.render(t).utf8).write(to: URL(fileURLWithPath: html)) }
    }
}
