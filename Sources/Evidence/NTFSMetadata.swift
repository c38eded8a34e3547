import Foundation
import HuntCore
import NTFS
import DiskImages

/// The server's own NTFS metadata joined to the evidence's files: a volume's `$MFT` (the file
/// times Windows kept, files deleted or never collected) and its change journal (`$J`: what was
/// created, written, renamed and deleted, and when), whether a triage collection carries them
/// (KAPE, Velociraptor) or a disk image's volume holds them.
enum NTFSMetadata {
    /// A volume's place in the listing.
    struct Volume {
        /// `C:\`: what the volume's paths are put under for their Windows paths.
        var windowsRoot: String
        /// `C/` (a collection's folder) or `C:/` (an image's): the same for `path`.
        var pathRoot: String
        /// The image's volume number, when the files can be read from it by MFT entry.
        var imageVolume: Int?
        /// What names the metadata in messages (`C/$MFT`, or the image's volume).
        var label: String
    }

    /// Names KAPE and Velociraptor give the change journal's stream (`$Extend\$UsnJrnl:$J`).
    static let journalNames: Set<String> = ["$j", "$usnjrnl:$j", "$usnjrnl%3a$j", "$usnjrnl_$j", "$usnjrnl$j"]

    /// The journal's records are kept for files whose names end so: what a web shell, a staged
    /// archive, a dump or a cleared log would be named.
    static let journalExtensions: Set<String> = [
        "aspx", "ashx", "asmx", "asp", "aspq", "axd", "cshtml", "soap", "svc", "asax", "config", "js", "xslt",
        "dll", "exe", "ps1", "psm1", "bat", "cmd", "vbs", "jsp", "php",
        "zip", "rar", "7z", "cab", "gz", "log", "evtx", "dmp", "txt",
    ]
    /// Files the `$MFT` or journal names that the evidence does not hold, added per volume at most.
    static let maxNamed = 100_000

    static func keepInJournal(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: ".") else { return false }
        return journalExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// Reads a journal stream into the history of the files it names.
    /// `read` hands over the stream's chunks with the offset of the first (an image's reader skips the sparse part).
    static func journal(_ read: ((Int64, UnsafeRawBufferPointer) -> Bool) throws -> Void,
                        problems: inout [String], label: String) rethrows -> JournalHistory {
        var scanner: USNScanner?
        var history = JournalHistory(keep: keepInJournal)
        try read { offset, chunk in
            if scanner == nil { scanner = USNScanner(startingAt: offset) }
            scanner?.feed(chunk) { history.add($0) }
            return true
        }
        scanner?.finish { history.add($0) }
        problems += (scanner?.problems ?? []).map { "\(label): change journal: \($0)" }
        if history.dropped > 0 {
            problems.append("\(label): change journal: more than \(history.limit) files named; \(history.dropped) later records were not kept")
        }
        return history
    }

    /// Joins a volume's `$MFT` and journal to `items`: times for the files the evidence holds,
    /// and items for files in the places a hunt reads that it does not hold (deleted, or not
    /// collected), each with what the metadata says of it.
    static func apply(table: MFTTable?, journal: JournalHistory?, volume: Volume, to items: inout [EvidenceItem],
                      everything: Bool, problems: inout [String], clustersInUse: ((Int, UInt64) -> Int?)? = nil) throws {
        let root = volume.windowsRoot.lowercased()
        var byPath: [String: Int] = [:]
        var byEntry: [UInt64: Int] = [:]
        for (i, item) in items.enumerated() where item.windowsPath.lowercased().hasPrefix(root) {
            byPath[item.windowsPath.lowercased()] = i
            if let v = volume.imageVolume, item.volume == v, let e = item.entry { byEntry[e] = i }
        }
        var named = 0
        func windowsPath(_ path: String) -> String { volume.windowsRoot + path.replacingOccurrences(of: "/", with: "\\") }
        func add(_ item: EvidenceItem) -> Bool {
            guard named < maxNamed else { return false }
            named += 1
            byPath[item.windowsPath.lowercased()] = items.count
            items.append(item)
            return true
        }
        if let table {
            try table.files { f in
                guard !f.isDirectory else { return }
                let win = windowsPath(f.path)
                if let i = byPath[win.lowercased()] {
                    // A collected copy: the server's times are the MFT's (an image's walk has them already).
                    if f.inUse, volume.imageVolume == nil {
                        items[i].fileSystemTimes = f.times
                        items[i].sourceCreated = f.times.created
                        items[i].sourceModified = f.times.modified
                        items[i].timeSource = .imageFileSystem
                        items[i].entry = f.entry
                    }
                    return
                }
                if volume.imageVolume != nil, byEntry[f.entry] != nil { return }
                // What the evidence lacks: deleted files where a hunt reads, and, from a collection,
                // pages in web folders that were not collected. (An image's walk lists every file in use.)
                guard f.parentKnown || everything else { return }
                let location = ArtifactLocation.classify(win)
                guard location != .other || everything else { return }
                guard !f.inUse || (volume.imageVolume == nil && location == .webRoot) else { return }
                var item = EvidenceItem(path: volume.pathRoot + f.path, size: f.size, modified: f.times.modified,
                                        timeSource: .imageFileSystem, windowsPath: win)
                item.sourceCreated = f.times.created
                item.sourceModified = f.times.modified
                item.fileSystemTimes = f.times
                item.entry = f.entry
                item.volume = volume.imageVolume
                item.deleted = !f.inUse
                item.notCollected = volume.imageVolume == nil
                if let v = volume.imageVolume, !f.inUse { item.clustersInUse = clustersInUse?(v, f.entry) }
                item.namedBy = "$MFT"
                if !add(item) { return }
            }
            problems += table.problems.map { "\(volume.label): $MFT: \($0)" }
        }
        if let journal {
            for f in journal.files.values.sorted(by: { ($0.firstSeen ?? .distantPast, $0.reference.entry) < ($1.firstSeen ?? .distantPast, $1.reference.entry) }) {
                let folder = journal.folderPath(f.parent) { ref in table?.folderPath(ref) ?? (ref.entry == 5 ? "" : nil) }
                guard folder != nil || everything else { continue }
                let path = (folder ?? "$OrphanFiles").isEmpty ? f.name : (folder ?? "$OrphanFiles") + "/" + f.name
                let win = windowsPath(path)
                let facts = JournalFacts(created: f.created, lastWritten: f.lastWritten, deleted: f.deleted,
                                         formerNames: f.formerNames, reasons: f.reasons.description)
                if let i = byPath[win.lowercased()], items[i].journal == nil,
                   f.deleted == nil || items[i].deleted || items[i].entry == f.reference.entry {
                    items[i].journal = facts
                    continue
                }
                let location = ArtifactLocation.classify(win)
                guard location != .other || everything else { continue }
                // Only in the journal: a file that went (or that neither the evidence nor the $MFT holds).
                let when = f.lastWritten ?? f.created ?? f.firstSeen
                var item = EvidenceItem(path: volume.pathRoot + path, size: 0, modified: when, timeSource: .changeJournal, windowsPath: win)
                item.sourceCreated = f.created
                item.sourceModified = when
                item.deleted = f.deleted != nil
                item.notCollected = true
                item.namedBy = "$J"
                item.entry = f.reference.entry
                item.journal = facts
                if !add(item) { break }
            }
        }
        if named >= maxNamed {
            problems.append("\(volume.label): more than \(maxNamed) files named by the NTFS metadata in the places a hunt reads; the rest were not listed")
        }
    }

    /// A disk image's NTFS volume: its `$MFT` (entry 0) and its journal stream, read through TSK.
    static func applyToImage(_ image: DiskImage, volume: DiskImage.Volume, _ items: inout [EvidenceItem], everything: Bool,
                             label: String, problems: inout [String]) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: EvidenceReader.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        let place = Volume(windowsRoot: "\(volume.name):\\", pathRoot: "\(volume.name):/", imageVolume: volume.number,
                           label: "\(label) \(volume.name):")
        var table: MFTTable?
        do {
            table = try MFTTable { body in try image.read(volume: volume.number, entry: 0, buffer: buffer) { body($0) } }
        } catch {
            problems.append("\(place.label) $MFT not read: \(error)")
        }
        var history: JournalHistory?
        do {
            history = try journal({ body in
                try image.readStream(volume: volume.number, path: "$Extend/$UsnJrnl", stream: "$J", buffer: buffer) { body($0, $1) }
            }, problems: &problems, label: place.label)
        } catch {
            problems.append("\(place.label) change journal not read to its end: \(error)")
        }
        do {
            try apply(table: table, journal: history, volume: place, to: &items, everything: everything, problems: &problems,
                      clustersInUse: { image.clustersInUse(volume: $0, entry: $1) })
        } catch {
            problems.append("\(place.label) $MFT not read to its end: \(error)")
        }
    }

    /// A collection's `$MFT` and journal files, joined to its listing per volume.
    static func applyToCollection(_ items: inout [EvidenceItem], reader: EvidenceReader, everything: Bool, problems: inout [String]) {
        let named = items.filter { $0.name.lowercased() == "$mft" }
        for m in named where m.size < 1024 { problems.append("\(m.path): $MFT of \(m.size) bytes, less than one record: not read") }
        let mfts = named.filter { $0.size >= 1024 }
        let journals = items.filter { journalNames.contains($0.name.lowercased()) }
        guard !mfts.isEmpty || !journals.isEmpty else { return }
        // The volume's root: where the $MFT lies, or the folder above `$Extend` for the journal.
        func roots(_ item: EvidenceItem) -> (windows: String, path: String) {
            // (Cut at the last separator: Velociraptor's `$UsnJrnl%3A$J` is `$UsnJrnl:$J` in the Windows path.)
            var win = item.windowsPath.lastIndex(of: "\\").map { String(item.windowsPath[...$0]) } ?? ""
            var path = item.path.lastIndex(of: "/").map { String(item.path[...$0]) } ?? ""
            if win.lowercased().hasSuffix("$extend\\") { win = String(win.dropLast(8)) }
            if path.lowercased().hasSuffix("$extend/") { path = String(path.dropLast(8)) }
            return (win, path)
        }
        var volumes: [String: (mft: EvidenceItem?, journal: EvidenceItem?)] = [:]
        for m in mfts { volumes[roots(m).windows.lowercased(), default: (nil, nil)].mft = m }
        for j in journals { volumes[roots(j).windows.lowercased(), default: (nil, nil)].journal = j }
        for key in volumes.keys.sorted() {
            guard let (mft, journalItem) = volumes[key], let any = mft ?? journalItem else { continue }
            let (win, path) = roots(any)
            let volume = Volume(windowsRoot: win, pathRoot: path, imageVolume: nil, label: mft?.path ?? any.path)
            var table: MFTTable?
            if let mft {
                do {
                    let t = try MFTTable { body in _ = try reader.read(mft, hash: false) { body($0) } }
                    table = t
                } catch {
                    problems.append("\(mft.path): $MFT not read: \(error)")
                }
            }
            var history: JournalHistory?
            if let journalItem {
                do {
                    history = try journal({ body in _ = try reader.read(journalItem, hash: false) { body(0, $0) } },
                                          problems: &problems, label: journalItem.path)
                } catch {
                    problems.append("\(journalItem.path): change journal not read: \(error)")
                }
            }
            do {
                try apply(table: table, journal: history, volume: volume, to: &items, everything: everything, problems: &problems)
            } catch {
                problems.append("\(volume.label): $MFT not read to its end: \(error)")
            }
        }
    }
}
