import ArgumentParser
import CaseStore
import Foundation
import HuntCore
import Reports

/// `exhunt fleet`: hunts and survey shards run by Celery workers on many machines, tracked in the
/// case store. The queue is Celery's (Redis as the broker); exhunt adds the work rows, the
/// commands workers report through, and the status view.
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Hunt many bundles and survey shards on Celery workers; results and progress in the case store.",
        discussion: """
            Workers are the Celery integration in Integrations/celery (python3 -m exhunt_celery worker), started on \
            each machine with the same broker, the case store's PostgreSQL, and the bundles on storage every worker \
            sees. `submit` and `survey` write one work row per bundle or shard into the case store and hand the \
            messages to the integration's enqueue command (Celery's message format is the integration's business). \
            `status` reads the rows: it needs no broker.
            """,
        subcommands: [Submit.self, Survey.self, Status.self, Claim.self, Finish.self])

    /// How the work is handed to the broker, shared by `submit` and `survey`.
    struct QueueOptions: ParsableArguments {
        @Option(help: "The Celery broker, redis://[:PASSWORD@]HOST[:PORT]/DB or rediss:// (default: $EXHUNT_BROKER).")
        var broker: String?

        @Option(help: "The Celery queue the workers read (default: $EXHUNT_QUEUE, else exhunt).")
        var queue: String?

        var queueName: String { FleetCommand.queueName(queue) }

        @Option(help: "Attempts per item before it is failed: exhunt failing, or its worker lost (killed, its machine gone).")
        var attempts = 3

        var brokerURL: String? {
            if let broker, !broker.isEmpty { return broker }
            return ProcessInfo.processInfo.environment["EXHUNT_BROKER"].flatMap { $0.isEmpty ? nil : $0 }
        }

        func validate() throws {
            if brokerURL == nil { throw ValidationError("give --broker redis://HOST or set EXHUNT_BROKER") }
            if attempts < 1 || attempts > 100 { throw ValidationError("--attempts must be 1 to 100") }
        }
    }

    /// `--queue`, else `$EXHUNT_QUEUE` (what the workers read), else `exhunt`.
    static func queueName(_ given: String?) -> String {
        if let given, !given.isEmpty { return given }
        return ProcessInfo.processInfo.environment["EXHUNT_QUEUE"].flatMap { $0.isEmpty ? nil : $0 } ?? "exhunt"
    }

    /// The options a worker sets itself, refused when passed through.
    static func refusePassthrough(_ args: [String], _ reserved: [String]) throws {
        for a in args {
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if reserved.contains(name) { throw ValidationError("\(name) is set by the worker; leave it out of the passed options") }
        }
    }

    /// Writes the rows, then enqueues; if the broker refuses, the rows say so.
    static func queue(_ items: [WorkItem], messages: [[String: Any]], options: QueueOptions, store: CaseStore, who: String) async throws {
        do {
            try CeleryBridge.enqueue(messages, broker: options.brokerURL ?? "", queue: options.queueName)
        } catch {
            try await store.failQueued(items.map(\.id), reason: "not queued: \(error)", who: who)
            Terminal.error("\(error)")
            throw ExitCode(2)
        }
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue bundles (folders or .zip collections on shared storage) to be hunted by the workers.",
            discussion: "Hunt options last, e.g. --hunt-options --yara /shared/signature-base/yara (paths the workers see).")

        @Argument(help: "Evidence bundles: folders or .zip files, by paths every worker sees.")
        var bundles: [String] = []

        @Option(parsing: .remaining, help: "Options for `exhunt hunt`, to the end of the line (paths as the workers see them).")
        var huntOptions: [String] = []

        @Flag(help: "Name each host after its bundle (the folder or zip name) instead of from the evidence.")
        var hostFromName = false

        @Flag(help: "Queue bundles again even when work for them is still queued or running.")
        var again = false

        @OptionGroup var queue: QueueOptions
        @OptionGroup(title: "Case store") var store: CaseOptions
        @OptionGroup var answer: AnswerOptions

        func validate() throws {
            if bundles.isEmpty { throw ValidationError("give at least one bundle") }
            try refusePassthrough(huntOptions, ["--case", "--case-name", "--json", "-o", "--output", "--host", "-j", "--jobs", "--quiet", "--no-progress"])
        }

        func run() async throws {
            guard let location = store.location else { throw ValidationError("give --case DB (PostgreSQL for workers on several machines)") }
            var paths: [String] = []
            for b in bundles {
                let url = URL(fileURLWithPath: b).standardizedFileURL
                guard FileManager.default.fileExists(atPath: url.path) else { throw ValidationError("no bundle at \(b)") }
                paths.append(url.path)
            }
            let batch = UUID().uuidString.lowercased()
            let summary: [String: Int] = try await store.with(create: true) { s in
                let active = again ? [] : try await s.activeWorkSubjects(kind: .hunt)
                let todo = paths.filter { !active.contains($0) }
                let items = try await s.enqueueWork(todo.map { (.hunt, $0) }, batch: batch, maxAttempts: queue.attempts, who: store.who)
                let messages: [[String: Any]] = items.map { item in
                    var kwargs: [String: Any] = ["work": item.id, "case": CaseLocation(location).withoutPassword, "case_name": store.caseName,
                                                 "bundle": item.subject, "options": huntOptions]
                    if hostFromName { kwargs["host"] = URL(fileURLWithPath: item.subject).deletingPathExtension().lastPathComponent }
                    return ["id": item.id, "task": "exhunt.hunt", "kwargs": kwargs]
                }
                try await FleetCommand.queue(items, messages: messages, options: queue, store: s, who: store.who)
                return ["queued": items.count, "skipped": paths.count - todo.count]
            }
            try answer.emit(["batch": batch, "queued": String(summary["queued"] ?? 0), "skipped": String(summary["skipped"] ?? 0)]) {
                var t = "batch \(batch): \(summary["queued"] ?? 0) bundle(s) queued"
                if let n = summary["skipped"], n > 0 { t += ", \(n) skipped (work for them is still queued or running; --again to queue anyway)" }
                return t + "\nexhunt fleet status --batch \(batch)"
            }
        }
    }

    struct Survey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a survey as N shards for the workers; each shard's records go to --records DIR and into the case store.",
            discussion: """
                Survey options last, e.g. --survey-options --ports 443 --check-ssrf --probe-shells. Each shard writes \
                DIR/shard-I-of-N.jsonl and resumes from it when delivered again, so a shard whose worker was lost \
                goes on from what it had written.
                """)

        @Argument(help: "Targets: hosts, addresses, CIDR ranges, URLs.")
        var targets: [String] = []

        @Option(name: [.short, .customLong("input")], help: "File of targets, one per line, on storage every worker sees.")
        var input: String?

        @Option(help: "How many shards (hosts split by a stable hash, as survey --shard).")
        var shards = 4

        @Option(help: "Folder on shared storage for the shards' JSON Lines records.")
        var records: String

        @Option(parsing: .remaining, help: "Options for `exhunt survey`, to the end of the line.")
        var surveyOptions: [String] = []

        @OptionGroup var queue: QueueOptions
        @OptionGroup(title: "Case store") var store: CaseOptions
        @OptionGroup var answer: AnswerOptions

        func validate() throws {
            if targets.isEmpty && input == nil { throw ValidationError("give targets or --input FILE") }
            if shards < 1 || shards > 10_000 { throw ValidationError("--shards must be 1 to 10000") }
            try refusePassthrough(surveyOptions, ["--case", "--case-name", "--json", "-o", "--output", "--resume", "--shard", "--input", "-i", "--no-progress"])
        }

        func run() async throws {
            guard let location = store.location else { throw ValidationError("give --case DB (PostgreSQL for workers on several machines)") }
            let dir = URL(fileURLWithPath: records, isDirectory: true).standardizedFileURL
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let inputPath = input.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            let batch = UUID().uuidString.lowercased()
            let count: Int = try await store.with(create: true) { s in
                let items = try await s.enqueueWork((1...shards).map { (.survey, "\($0)/\(shards)") }, batch: batch,
                                                    maxAttempts: queue.attempts, who: store.who)
                let messages: [[String: Any]] = items.map { item in
                    let i = item.subject.split(separator: "/").first.map(String.init) ?? "1"
                    var kwargs: [String: Any] = ["work": item.id, "case": CaseLocation(location).withoutPassword, "case_name": store.caseName,
                                                 "shard": item.subject, "targets": targets, "options": surveyOptions,
                                                 "records": dir.appendingPathComponent("shard-\(i)-of-\(shards)-\(batch.prefix(8)).jsonl").path]
                    if let inputPath { kwargs["input"] = inputPath }
                    return ["id": item.id, "task": "exhunt.survey", "kwargs": kwargs]
                }
                try await FleetCommand.queue(items, messages: messages, options: queue, store: s, who: store.who)
                return items.count
            }
            try answer.emit(["batch": batch, "queued": String(count)]) {
                "batch \(batch): \(count) survey shard(s) queued\nexhunt fleet status --batch \(batch)"
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queued, running, done and failed fleet work, from the case store.")

        @Option(help: "Only this batch (as submit printed it).")
        var batch: String?

        @Flag(help: "List done work too (by default: what is not done, and the counts).")
        var all = false

        @Option(help: "At most this many items listed.")
        var limit = 200

        @Option(help: "Also ask this broker how many messages wait and how many are delivered but unacknowledged.")
        var broker: String?

        @Option(help: "The queue to ask the broker about (default: $EXHUNT_QUEUE, else exhunt).")
        var queue: String?

        @OptionGroup(title: "Case store") var store: CaseOptions
        @OptionGroup var answer: AnswerOptions

        struct Answer: Encodable {
            var counts: [String: Int]
            var items: [WorkItem]
            var broker: Broker?
        }

        struct Broker: Encodable {
            var queue: String
            var waiting: Int
            var unacknowledged: Int
        }

        func run() async throws {
            let (counts, items) = try await store.with { s in
                (try await s.workCounts(batch: batch),
                 try await s.work(batch: batch, states: all ? [] : [.queued, .running, .retrying, .failed], limit: limit))
            }
            var brokerAnswer: Broker?
            if let broker {
                let name = FleetCommand.queueName(queue)
                do {
                    let d = try CeleryBridge.depth(broker: broker, queue: name)
                    brokerAnswer = Broker(queue: name, waiting: d.waiting, unacknowledged: d.unacknowledged)
                } catch {
                    Terminal.error("\(error)")
                }
            }
            let byName = Dictionary(uniqueKeysWithValues: WorkItem.State.allCases.map { ($0.rawValue, counts[$0] ?? 0) })
            try answer.emit(Answer(counts: byName, items: items, broker: brokerAnswer)) {
                var lines = ["Fleet work" + (batch.map { " (batch \($0))" } ?? "") + ": "
                    + WorkItem.State.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")]
                if let b = brokerAnswer {
                    lines.append("Broker, queue \(safe(b.queue)): \(b.waiting) message(s) waiting, \(b.unacknowledged) delivered and not yet acknowledged")
                }
                for i in items {
                    var line = "  \(i.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(i.kind.rawValue) \(safe(i.subject))"
                    line += "  attempt \(i.attempts)/\(i.maxAttempts)"
                    if let w = i.worker { line += "  on \(safe(w))" }
                    if let o = i.outcome, i.state == .done { line += "  \(safe(o))" }
                    if let e = i.error, i.state != .done {
                        line += "  exit \(i.exitStatus.map(String.init) ?? "-"): \(safe(e.split(separator: "\n").last.map(String.init) ?? ""))"
                    }
                    lines.append(line)
                }
                return lines.joined(separator: "\n")
            }
        }
    }

    /// Worker plumbing: take a delivery. Prints the claim as JSON.
    struct Claim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "(for workers) Take a delivery of fleet work: run it or not.")

        @Option(help: "The work's id.") var work: String
        @Option(help: "Who takes it (host:pid).") var worker: String
        @OptionGroup(title: "Case store") var store: CaseOptions

        func run() async throws {
            let claim = try await store.with { try await $0.claimWork(work, worker: worker) }
            try Terminal.write(try JSONCoding.encoder(pretty: false).encode(claim) + Data("\n".utf8))
        }
    }

    /// Worker plumbing: how an attempt ended. Prints the state written.
    struct Finish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "(for workers) Record how an attempt at fleet work ended.")

        @Option(help: "The work's id.") var work: String
        @Option(help: "Who ran it (host:pid).") var worker: String
        @Flag(help: "It succeeded (else it failed).") var succeeded = false
        @Flag(help: "A failure not worth another attempt (a time limit exceeded).") var noRetry = false
        @Option(help: "exhunt's exit status (negative: killed by that signal).") var exitStatus: Int?
        @Option(help: "What it found (a verdict line, a record count).") var outcome: String?
        @Option(help: "File with the tail of its error output (- for standard input).") var errorFile: String?
        @OptionGroup(title: "Case store") var store: CaseOptions

        func run() async throws {
            var error: String?
            if let errorFile {
                let handle = errorFile == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: errorFile)
                // Bounded: the store keeps a tail, and the text is exhunt's output about hostile evidence.
                error = handle.flatMap { try? $0.read(upToCount: 64 * 1024) }.map { String(decoding: $0.suffix(WorkItem.errorLimit), as: UTF8.self) }
            }
            let state = try await store.with {
                try await $0.finishWork(work, succeeded: succeeded, retry: !noRetry, exitStatus: exitStatus, outcome: outcome, error: error,
                                        worker: worker)
            }
            try Terminal.write(Data("{\"state\":\"\(state.rawValue)\"}\n".utf8))
        }
    }
}

/// The Celery integration (Integrations/celery) as the Swift side reaches it: its enqueue command,
/// run as a subprocess with an argument array. The broker's address goes in the environment,
/// never the command line (a process list shows that).
enum CeleryBridge {
    struct Failed: Error, CustomStringConvertible { var description: String }

    static func enqueue(_ messages: [[String: Any]], broker: String, queue: String) throws {
        guard !messages.isEmpty else { return }
        var input = Data()
        for m in messages { input += try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys]) + Data("\n".utf8) }
        _ = try run(["enqueue", "--queue", queue], input: input, broker: broker, doing: "queue the work")
    }

    /// Messages waiting in the queue and delivered but unacknowledged, as the broker holds them.
    static func depth(broker: String, queue: String) throws -> (waiting: Int, unacknowledged: Int) {
        let out = try run(["depth", "--queue", queue], input: Data(), broker: broker, doing: "read the queue")
        let answer = try? JSONSerialization.jsonObject(with: out) as? [String: Any]
        return (answer?["waiting"] as? Int ?? 0, answer?["unacknowledged"] as? Int ?? 0)
    }

    /// `python3 -m exhunt_celery ARGS`: its standard output; a failure names what it was doing
    /// and ends with the tail of its error output.
    private static func run(_ arguments: [String], input: Data, broker: String, doing: String) throws -> Data {
        let process = Process()
        let env = ProcessInfo.processInfo.environment
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [env["EXHUNT_PYTHON"] ?? "python3", "-m", "exhunt_celery"] + arguments
        var childEnv = env
        childEnv["EXHUNT_BROKER"] = broker
        if let dir = integrationDirectory() {
            childEnv["PYTHONPATH"] = [dir.path, env["PYTHONPATH"]].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ":")
        }
        process.environment = childEnv
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardError = stderr
        process.standardOutput = stdout
        do { try process.run() } catch { throw Failed(description: "cannot start the Celery integration (python3 -m exhunt_celery): \(error)") }
        // The input is one line per bundle or shard, read whole before anything is written back;
        // the answers are one line; the error output is read after, bounded.
        try? stdin.fileHandleForWriting.write(contentsOf: input)
        try? stdin.fileHandleForWriting.close()
        let out = (try? stdout.fileHandleForReading.read(upToCount: 1 << 20)).flatMap { $0 } ?? Data()
        let errText = (try? stderr.fileHandleForReading.readToEnd()).flatMap { $0 }.map { String(decoding: $0.suffix(2_000), as: UTF8.self) } ?? ""
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw Failed(description: "the Celery integration could not \(doing) (exit \(process.terminationStatus)): "
                + TerminalText.sanitize(errText.trimmingCharacters(in: .whitespacesAndNewlines), limit: 1_000)
                + (errText.contains("No module named") ? " (pip install -r Integrations/celery/requirements.txt, and set PYTHONPATH or EXHUNT_PYTHON)" : ""))
        }
        return out
    }

    /// Integrations/celery of the source tree this binary was built from, or beside the binary.
    static func integrationDirectory() -> URL? {
        var candidates: [URL] = []
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            candidates.append(exe.appendingPathComponent("Integrations/celery"))
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Integrations/celery"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("exhunt_celery/__init__.py").path) }
    }
}
