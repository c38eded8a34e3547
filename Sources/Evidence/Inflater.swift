import SystemZlib

/// zlib's inflate, fed piece by piece: a zip entry's raw deflate data, or a `.gz` file. Each call
/// takes one piece of input and hands every piece of output to `body` (false stops); output is
/// counted, so a caller bounds what a small input may expand to.
final class Inflater {
    enum Kind {
        /// Raw deflate, as in zip entries.
        case raw
        /// A gzip member (`.gz`), its header and trailer checked by zlib.
        case gzip
    }

    enum Progress { case wantsInput, ended, stopped }

    struct Damage: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    private var stream = z_stream()
    private let output: UnsafeMutableRawBufferPointer
    private(set) var produced: UInt64 = 0
    private(set) var crc = UInt32(truncatingIfNeeded: crc32(0, nil, 0))
    private var started = false

    init(_ kind: Kind, output: UnsafeMutableRawBufferPointer) throws(Damage) {
        self.output = output
        let bits = kind == .raw ? -MAX_WBITS : MAX_WBITS + 16
        guard inflateInit2_(&stream, bits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Damage(message: "zlib could not start")
        }
        started = true
    }

    deinit { if started { inflateEnd(&stream) } }

    /// Inflates all of `input` (or until the stream ends or `body` stops).
    func feed(_ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Bool) throws -> Progress {
        guard let outBase = output.baseAddress else { return .stopped }
        guard let inBase = input.baseAddress, !input.isEmpty else { return .wantsInput }
        stream.next_in = UnsafeMutablePointer(mutating: inBase.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while true {
            stream.next_out = outBase.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(output.count)
            let result = inflate(&stream, Z_NO_FLUSH)
            let n = output.count - Int(stream.avail_out)
            if n > 0 {
                produced += UInt64(n)
                crc = UInt32(truncatingIfNeeded: crc32(uLong(crc), outBase.assumingMemoryBound(to: Bytef.self), uInt(n)))
                guard try body(UnsafeRawBufferPointer(rebasing: output[0..<n])) else { return .stopped }
            }
            switch result {
            case Z_STREAM_END:
                return .ended
            case Z_OK, Z_BUF_ERROR:
                // Every input byte taken and nothing more to write: the next piece is wanted.
                // (With input left and room to write, zlib always moves or says why.)
                if stream.avail_in == 0 && stream.avail_out != 0 { return .wantsInput }
                if result == Z_BUF_ERROR && n == 0 { throw Damage(message: "deflate data is damaged after \(produced) bytes out") }
            default:
                throw Damage(message: "deflate data is damaged (zlib \(result)) after \(produced) bytes out")
            }
        }
    }
}
