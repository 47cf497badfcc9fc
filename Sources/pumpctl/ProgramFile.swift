import Glibc
import JSON
import ProgramFiles

/// A program file on disk: read (at most 1 MiB), then parsed by
/// `ProgramText` (JSON or YAML; see there for the rules).
enum ProgramFile {
    static func load(_ path: String) throws -> JSONValue {
        guard let text = readText(path) else {
            Terminal.error("cannot read \(path): \(String(cString: strerror(errno)))")
            throw Exit.noInput
        }
        do throws(ProgramText.Problem) {
            return try ProgramText.program(text, yaml: ProgramText.isYAML(path: path, text: text))
        } catch {
            Terminal.error("\(path): \(error.description)")
            throw Exit.dataError
        }
    }

    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                all += buffer[..<n]
                guard all.count <= 1 << 20 else { errno = EFBIG; return nil }
            } else if n == 0 {
                return String(decoding: all, as: UTF8.self)
            } else if errno != EINTR {
                return nil
            }
        }
    }
}
