/// The version a Windows program or library says it is: the fixed file information of its
/// `RT_VERSION` resource (`VS_FIXEDFILEINFO`), as Explorer's "File version" shows it. Exchange's
/// `ExSetup.exe` and its DLLs carry the installed build there (15.1.2176.2), where no log may
/// have named it.
///
/// Read from the file's first bytes only (headers, section table, resource tree): every offset
/// and count comes from the file and is checked before use; the walk visits a bounded number of
/// directory entries, so a hostile file gives nil or a located reason, never a trap or a long loop.
public struct PEVersion: Sendable, Equatable {
    public var fileVersion: [UInt16]
    public var productVersion: [UInt16]

    /// "15.1.2176.2".
    public var file: String { fileVersion.map(String.init).joined(separator: ".") }
    public var product: String { productVersion.map(String.init).joined(separator: ".") }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notPE
        case truncated(String)
        case malformed(String)
        case noVersionResource

        public var description: String {
            switch self {
            case .notPE: "not a Windows program or library (no MZ/PE headers)"
            case .truncated(let what): "the file ends inside its \(what)"
            case .malformed(let what): "its \(what) is malformed"
            case .noVersionResource: "it carries no version resource"
            }
        }
    }

    /// How many leading bytes `parse` may need at most: resources past this are not looked for.
    public static let readLimit = 32 << 20
    /// Directory entries visited over the whole resource walk.
    static let entryBudget = 4_096
    static let rtVersion: UInt32 = 16
    static let fixedSignature: UInt32 = 0xFEEF_04BD

    public init(fileVersion: [UInt16], productVersion: [UInt16]) {
        self.fileVersion = fileVersion
        self.productVersion = productVersion
    }

    public static func parse(_ bytes: [UInt8]) -> Result<PEVersion, Failure> {
        let r = Reader(bytes: bytes)
        guard r.u16(0) == 0x5A4D, let lfanew = r.u32(0x3C) else { return .failure(.notPE) }
        let pe = Int(lfanew)
        guard r.u32(pe) == 0x0000_4550 else { return .failure(.notPE) }
        guard let sections = r.u16(pe + 6), let optionalSize = r.u16(pe + 20) else { return .failure(.truncated("file header")) }
        let optional = pe + 24
        guard let magic = r.u16(optional) else { return .failure(.truncated("optional header")) }
        let directories: Int
        switch magic {
        case 0x10B: directories = optional + 96
        case 0x20B: directories = optional + 112
        default: return .failure(.malformed("optional header (magic \(magic))"))
        }
        let countAt = directories - 4
        guard let count = r.u32(countAt) else { return .failure(.truncated("optional header")) }
        // The resource table is data directory 2; it must lie inside the optional header.
        guard count > 2, directories + 3 * 8 <= optional + Int(optionalSize) else { return .failure(.noVersionResource) }
        guard let rsrcRVA = r.u32(directories + 16), let rsrcSize = r.u32(directories + 20) else {
            return .failure(.truncated("data directories"))
        }
        guard rsrcRVA != 0, rsrcSize != 0 else { return .failure(.noVersionResource) }
        // Sections map addresses in memory (RVAs) to offsets in the file.
        let table = optional + Int(optionalSize)
        var map: [(va: UInt32, size: UInt32, raw: UInt32, rawSize: UInt32)] = []
        for i in 0..<min(Int(sections), 96) {
            let at = table + i * 40
            guard let vsize = r.u32(at + 8), let va = r.u32(at + 12), let rawSize = r.u32(at + 16), let raw = r.u32(at + 20) else {
                return .failure(.truncated("section table"))
            }
            map.append((va, max(vsize, rawSize), raw, rawSize))
        }
        func offset(_ rva: UInt32) -> Int? {
            for s in map where rva >= s.va {
                let delta = UInt64(rva) - UInt64(s.va)
                guard delta < UInt64(s.size), delta < UInt64(s.rawSize) else { continue }
                return Int(UInt64(s.raw) + delta)
            }
            return nil
        }
        guard let root = offset(rsrcRVA) else { return .failure(.malformed("resource directory address")) }
        var budget = entryBudget
        // Three levels: type, name, language. Offsets in the tree are from the tree's start.
        func entries(_ dirOffset: Int) -> [(id: UInt32?, target: UInt32)]? {
            guard let named = r.u16(root + dirOffset + 12), let ids = r.u16(root + dirOffset + 14) else { return nil }
            var out: [(UInt32?, UInt32)] = []
            for i in 0..<(Int(named) + Int(ids)) {
                guard budget > 0 else { return out }
                budget -= 1
                let at = root + dirOffset + 16 + i * 8
                guard let name = r.u32(at), let target = r.u32(at + 4) else { return out }
                out.append((name & 0x8000_0000 == 0 ? name : nil, target))
            }
            return out
        }
        guard let types = entries(0) else { return .failure(.truncated("resource directory")) }
        guard let version = types.first(where: { $0.id == rtVersion }), version.target & 0x8000_0000 != 0 else {
            return .failure(.noVersionResource)
        }
        // The first name, then the first language, of the version resource.
        var target = version.target
        for _ in 0..<2 {
            guard target & 0x8000_0000 != 0, let next = entries(Int(target & 0x7FFF_FFFF))?.first else {
                return .failure(.malformed("version resource's directory"))
            }
            target = next.target
        }
        guard target & 0x8000_0000 == 0, let dataRVA = r.u32(root + Int(target)), let dataSize = r.u32(root + Int(target) + 4),
              let data = offset(dataRVA) else { return .failure(.malformed("version resource's data entry")) }
        return fixedInfo(r, at: data, size: Int(min(dataSize, 1 << 20)))
    }

    /// `VS_VERSIONINFO`: length, value length, type, the key "VS_VERSION_INFO" in UTF-16 with its
    /// terminator, padding to a four-byte boundary, then `VS_FIXEDFILEINFO`.
    static func fixedInfo(_ r: Reader, at start: Int, size: Int) -> Result<PEVersion, Failure> {
        let key = Array("VS_VERSION_INFO".utf16)
        for (i, unit) in key.enumerated() {
            guard let u = r.u16(start + 6 + 2 * i) else { return .failure(.truncated("version resource")) }
            guard u == unit else { return .failure(.malformed("version resource's key")) }
        }
        var fixed = start + 6 + 2 * (key.count + 1)
        fixed = (fixed + 3) & ~3
        guard fixed + 52 <= start + size else { return .failure(.truncated("version resource")) }
        guard let sig = r.u32(fixed), let fileMS = r.u32(fixed + 8), let fileLS = r.u32(fixed + 12),
              let productMS = r.u32(fixed + 16), let productLS = r.u32(fixed + 20) else { return .failure(.truncated("version resource")) }
        guard sig == fixedSignature else { return .failure(.malformed("fixed file information's signature")) }
        func parts(_ ms: UInt32, _ ls: UInt32) -> [UInt16] {
            [UInt16(truncatingIfNeeded: ms >> 16), UInt16(truncatingIfNeeded: ms), UInt16(truncatingIfNeeded: ls >> 16), UInt16(truncatingIfNeeded: ls)]
        }
        return .success(PEVersion(fileVersion: parts(fileMS, fileLS), productVersion: parts(productMS, productLS)))
    }

    /// Little-endian reads that say nil past the end (or before the start) instead of trapping.
    struct Reader {
        let bytes: [UInt8]
        func u16(_ at: Int) -> UInt16? {
            guard at >= 0, at <= bytes.count - 2 else { return nil }
            return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) -> UInt32? {
            guard at >= 0, at <= bytes.count - 4 else { return nil }
            return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
    }
}
