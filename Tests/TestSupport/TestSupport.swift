public import Foundation

// Helpers every test target needs: where the repository and ../shared are, scratch directories
// and files, and running a peer program (python3, yara, chromium, the built CLI) to compare with.

/// The repository root, found from this file's path.
public let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
/// Third-party test data, beside the repository; tests skip what needs it when it is absent.
public let sharedData = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data")

/// What a test may need that a user's fresh clone or machine lacks. Tests that need one say so
/// with `.enabled(if:)`, so a run without it shows them as skipped, never as passed.
public let hasSharedData = FileManager.default.fileExists(atPath: sharedData.path)
/// The yara command, the HTML report's browser, python3 (which reads exports back).
public let yaraCommand = installed(["/usr/bin/yara", "/usr/local/bin/yara"])
public let chromiumCommand = installed(["/usr/bin/chromium", "/usr/bin/chromium-browser"])
public let pythonCommand = installed(["/usr/bin/python3", "/usr/local/bin/python3"])
/// PyPI evtx (the Rust evtx crate) for the python3 on PATH, the EVTX parser's oracle.
public let hasPythonEvtx: Bool = {
    (try? run("/usr/bin/env", ["python3", "-c", "import evtx"]).status) == 0
}()

/// The PostgreSQL database the case-store tests use: `EXHUNT_TEST_POSTGRES`, else the one
/// `Scripts/postgres.sh` starts on loopback (`Scripts/setup.sh --tests` does, as root).
public let testPostgresURL = ProcessInfo.processInfo.environment["EXHUNT_TEST_POSTGRES"]
    ?? "postgres://exhunt:exhunt@127.0.0.1:5432/exhunt_test?sslmode=disable"
/// Whether that server answers (pg_isready, from Debian's postgresql-client).
public let hasPostgres: Bool = {
    guard let c = URLComponents(string: testPostgresURL), let tool = installed(["/usr/bin/pg_isready"]) else { return false }
    return (try? run(tool, ["-q", "-h", c.host ?? "127.0.0.1", "-p", String(c.port ?? 5432)]).status) == 0
}()
/// CI sets `EXHUNT_REQUIRE_POSTGRES=1`: there, a missing server fails instead of skipping.
public let postgresRequired = ProcessInfo.processInfo.environment["EXHUNT_REQUIRE_POSTGRES"] == "1"

/// Every test process keeps its scratch directories under one folder of its own
/// (`exhunt-scratch-<pid>`); the folders of processes that have ended are removed when the next
/// one starts. A run's files stay for a look until the next run, and many runs do not fill the
/// disk (one fleet test alone leaves 830 MB).
private let scratchRoot: URL = {
    let fm = FileManager.default
    let tmp = fm.temporaryDirectory
    let prefix = "exhunt-scratch-"
    for name in (try? fm.contentsOfDirectory(atPath: tmp.path)) ?? [] where name.hasPrefix(prefix) {
        guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
        try? fm.removeItem(at: tmp.appendingPathComponent(name))
    }
    let root = tmp.appendingPathComponent(prefix + String(getpid()))
    try? fm.createDirectory(at: root, withIntermediateDirectories: true)
    return root
}()

/// A new, empty scratch directory named after the calling test.
public func tempDir(_ name: String = #function) throws -> URL {
    let url = scratchRoot.appendingPathComponent("\(name.filter(\.isLetter))-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

public func put(_ root: URL, _ rel: String, _ content: String) throws { try put(root, rel, Data(content.utf8)) }

public func put(_ root: URL, _ rel: String, _ data: Data) throws {
    let url = root.appendingPathComponent(rel)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try data.write(to: url)
}

/// The first of `candidates` that is an executable file, or nil when the peer is not installed.
public func installed(_ candidates: [String]) -> String? {
    candidates.first(where: FileManager.default.isExecutableFile)
}

public struct ProgramOutput: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: Data
    public var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs a program to completion. Standard error goes to a file rather than a pipe, so a chatty
/// program (chromium) cannot fill a pipe nobody reads while its standard output is drained.
public func run(_ program: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> ProgramOutput {
    let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("exhunt-stderr-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errFile) }
    let errHandle = try FileHandle(forWritingTo: errFile)
    defer { try? errHandle.close() }
    let p = Process()
    p.executableURL = program
    p.arguments = arguments
    p.environment = testEnvironment(environment)
    let out = Pipe()
    p.standardOutput = out
    p.standardError = errHandle
    try p.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return ProgramOutput(status: p.terminationStatus, stdout: stdout, stderr: (try? Data(contentsOf: errFile)) ?? Data())
}

/// The environment a test's child runs in: this process's, with `extra` over it. Children judge
/// with the rules the test gives them, never with rule sets the machine's user downloaded.
public func testEnvironment(_ extra: [String: String]) -> [String: String] {
    let noSets = FileManager.default.temporaryDirectory.appendingPathComponent("exhunt-tests-no-downloaded-rules").path
    return ProcessInfo.processInfo.environment.merging(["EXHUNT_RULES_CACHE": noSets]) { $1 }.merging(extra) { $1 }
}

public func run(_ program: String, _ arguments: [String]) throws -> ProgramOutput {
    try run(URL(fileURLWithPath: program), arguments)
}

/// A product of this package (`exhunt`, `exchange-emulator`) next to the test bundle, or in .build/debug.
public func productBinary(_ name: String) -> URL {
    let beside = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name)
    return FileManager.default.fileExists(atPath: beside.path) ? beside : repoRoot.appendingPathComponent(".build/debug/\(name)")
}

/// Fraction of decompressed PNG bytes that are neither white nor a zero filter delta: near 0
/// for a blank page, well above it for a page with text and charts.
public func nonBackgroundFraction(_ png: Data) throws -> Double {
    struct NoPython: Error {}
    guard let python = pythonCommand else { throw NoPython() }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("shot-\(UUID().uuidString).png")
    try png.write(to: file)
    let script = """
    import sys, zlib, struct
    d = open(sys.argv[1], 'rb').read(); i = 8; idat = b''
    while i < len(d):
        n = struct.unpack('>I', d[i:i+4])[0]; t = d[i+4:i+8]
        if t == b'IDAT': idat += d[i+8:i+8+n]
        i += 12 + n
    raw = zlib.decompress(idat)
    print(sum(1 for b in raw if b not in (0, 255)) / max(1, len(raw)))
    """
    let text = try run(python, ["-c", script, file.path]).text
    return Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
}
