import Glibc

/// Output for a tool that streams: one written line per record, so
/// `pumpctl frame decode < /dev/ttyACM0` shows frames as they come.
enum Terminal {
    static func line(_ s: String) { writeAll(1, Array((s + "\n").utf8)) }

    static func error(_ s: String) { writeAll(2, Array("pumpctl: \(s)\n".utf8)) }

    static func write(_ bytes: [UInt8]) { writeAll(1, bytes) }

    /// Writes straight to the descriptor (no stdio buffer, so each line is out
    /// as soon as it is decoded), retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress.map { $0 + off }, buf.count - off)
                if n > 0 { off += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// Reads standard input in chunks as they arrive, until end of file.
    static func readStandardInput(_ body: (UnsafeRawBufferPointer) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            } else if n == 0 || errno != EINTR {
                return
            }
        }
    }

    static func readAllStandardInput() -> [UInt8] {
        var all: [UInt8] = []
        readStandardInput { all.append(contentsOf: $0) }
        return all
    }
}
