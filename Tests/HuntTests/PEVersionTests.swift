import Baselines
import Foundation
import HuntCore
import Reports
import Testing
import TestSupport

/// The installed build from Exchange's setup program: the version resource of a PE file, read by
/// exhunt and by pefile (PyPI) on the same bytes.
@Suite(.timeLimit(.minutes(20))) struct PEVersionTests {
    static let hasPefile = (try? run("/usr/bin/env", ["python3", "-c", "import pefile"]).status) == 0

    /// A PE32+ image as the PE/COFF specification lays it out: DOS header, PE signature, file
    /// header, optional header with 16 data directories (the resource table's set), one `.rsrc`
    /// section holding the resource tree (type 16, name 1, language 0x409) and `VS_VERSIONINFO`.
    static func image(version: (UInt16, UInt16, UInt16, UInt16), signature: UInt32 = 0xFEEF_04BD) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 0x400)
        func p16(_ at: Int, _ v: UInt16) { b[at] = UInt8(v & 0xFF); b[at + 1] = UInt8(v >> 8) }
        func p32(_ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        p16(0, 0x5A4D); p32(0x3C, 0x40)
        p32(0x40, 0x4550)
        p16(0x44, 0x8664); p16(0x46, 1); p16(0x54, 240); p16(0x56, 0x22)
        let opt = 0x58
        p16(opt, 0x20B); p32(opt + 16, 0x1000); p32(opt + 32, 0x1000); p32(opt + 36, 0x200)
        p32(opt + 56, 0x2000); p32(opt + 60, 0x200); p16(opt + 68, 2)
        p32(opt + 108, 16)
        p32(opt + 112 + 16, 0x1000); p32(opt + 112 + 20, 0xB4)
        let sec = opt + 240
        for (i, c) in ".rsrc".utf8.enumerated() { b[sec + i] = c }
        p32(sec + 8, 0xB4); p32(sec + 12, 0x1000); p32(sec + 16, 0x200); p32(sec + 20, 0x200); p32(sec + 36, 0x4000_0040)
        let r = 0x200
        p16(r + 14, 1); p32(r + 16, 16); p32(r + 20, 0x8000_0018)
        p16(r + 0x18 + 14, 1); p32(r + 0x18 + 16, 1); p32(r + 0x18 + 20, 0x8000_0030)
        p16(r + 0x30 + 14, 1); p32(r + 0x30 + 16, 0x409); p32(r + 0x30 + 20, 0x48)
        p32(r + 0x48, 0x1058); p32(r + 0x48 + 4, 92)
        let v = r + 0x58
        p16(v, 92); p16(v + 2, 52)
        for (i, u) in "VS_VERSION_INFO".utf16.enumerated() { p16(v + 6 + 2 * i, u) }
        let f = v + 40
        p32(f, signature); p32(f + 4, 0x1_0000)
        p32(f + 8, UInt32(version.0) << 16 | UInt32(version.1)); p32(f + 12, UInt32(version.2) << 16 | UInt32(version.3))
        p32(f + 16, UInt32(version.0) << 16 | UInt32(version.1)); p32(f + 20, UInt32(version.2) << 16 | UInt32(version.3))
        p32(f + 24, 0x3F); p32(f + 32, 0x4_0004); p32(f + 36, 1)
        return b
    }

    @Test func readsTheFixedFileVersion() throws {
        let v = try PEVersion.parse(Self.image(version: (15, 1, 2176, 2))).get()
        #expect(v.file == "15.1.2176.2")
        #expect(v.product == "15.1.2176.2")
    }

    @Test(.enabled(if: hasPefile, "needs PyPI pefile (Scripts/setup.sh --tests)"))
    func pefileReadsTheSameVersion() throws {
        let dir = try tempDir()
        let file = dir.appendingPathComponent("ExSetup.exe")
        try Data(Self.image(version: (15, 2, 1118, 40))).write(to: file)
        let script = "import pefile,sys\np=pefile.PE(sys.argv[1])\nf=p.VS_FIXEDFILEINFO[0]\n"
            + "print('%d.%d.%d.%d'%(f.FileVersionMS>>16,f.FileVersionMS&0xffff,f.FileVersionLS>>16,f.FileVersionLS&0xffff))"
        let theirs = try run("/usr/bin/env", ["python3", "-c", script, file.path]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(theirs == "15.2.1118.40")
        #expect(try PEVersion.parse([UInt8](try Data(contentsOf: file))).get().file == theirs)
    }

    @Test func damagedFilesGiveAReasonNeverATrap() {
        let good = Self.image(version: (15, 1, 2176, 2))
        #expect(PEVersion.parse([]) == .failure(.notPE))
        #expect(PEVersion.parse(Array("MZ".utf8)) == .failure(.notPE))
        if case .success = PEVersion.parse(Self.image(version: (1, 2, 3, 4), signature: 0x1234)) { Issue.record("a bad signature was taken") }
        // Every truncation, and every byte of the headers and tree set to 0xFF in turn.
        for n in stride(from: 0, to: good.count, by: 7) { _ = PEVersion.parse(Array(good.prefix(n))) }
        for i in 0..<0x2B0 {
            var b = good
            b[i] = 0xFF
            _ = PEVersion.parse(b)
        }
    }

    @Test("ExSetup.exe in a collection names the installed build, and the hunt compares with its baseline")
    func exsetupGivesTheBuild() throws {
        let dir = try tempDir()
        let root = dir.appendingPathComponent("EXCH01")
        try put(root, "C/Program Files/Microsoft/Exchange Server/V15/Bin/ExSetup.exe", Data(Self.image(version: (15, 1, 2176, 2))))
        try put(root, "C/Program Files/Microsoft/Exchange Server/V15/Bin/Broken/ExSetup.exe", Data(Array(Self.image(version: (15, 1, 2176, 2)).prefix(0x100))))
        let json = dir.appendingPathComponent("r.json")
        _ = try runCLI(["hunt", root.path, "-o", json.path, "--quiet", "--no-progress", "--host", "EXCH01"])
        let report = try JSONReport.decode(try Data(contentsOf: json))
        #expect(report.builds.map(\.build) == ["15.1.2176.2"])
        #expect(report.problems.contains { $0.code == "pe-version" && $0.path?.hasSuffix("Broken/ExSetup.exe") == true })
    }
}
