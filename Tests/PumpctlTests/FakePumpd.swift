import Foundation
import Glibc

/// A stand-in for pumpd on a Unix socket: each connection gets the next
/// canned answer (raw HTTP bytes) and is closed; the requests are kept for
/// the test to check what pumpctl sent.
final class FakePumpd: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var requests: [String] = []

    init(answers: [String]) throws {
        path = "/tmp/fake-pumpd-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8) + [0]
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        let listener = fd
        Thread { [self] in
            for answer in answers {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                let request = Self.readRequest(client)
                lock.withLock { requests.append(request) }
                let out = Array(answer.utf8)
                _ = out.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(client)
            }
        }.start()
    }

    var received: [String] { lock.withLock { requests } }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }

    /// The head, then as many body bytes as Content-Length says.
    static func readRequest(_ fd: Int32) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        func complete() -> Bool {
            let text = String(decoding: data, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { return false }
            let head = text[..<end.lowerBound].lowercased()
            var length = 0
            if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
                length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
            }
            return text.utf8.count - text[..<end.upperBound].utf8.count >= length
        }
        while !complete() {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            data += buffer[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}
