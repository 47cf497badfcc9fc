import API
import Crypto
import Hummingbird
import JSON
import NIOCore
import Wire

/// What a refused write (403) carried, kept for the audit trail without
/// trusting it: at most the first `readCap` bytes are read (the rest is not
/// wanted; the connection is closed after the answer), the first
/// `excerptBytes` of them are kept, as text when they are UTF-8 and as hex
/// otherwise, with the SHA-256 and size of what was read. The body is never
/// parsed: a hostile one costs the same as any other.
struct RefusedBody: Sendable, Equatable {
    var excerpt: String
    var encoding: String
    var bytesRead: Int
    /// Whether the whole body was read (false: it went on past `readCap`).
    var complete: Bool
    var sha256: String

    static let excerptBytes = 1024
    static let readCap = 64 << 10

    /// Reads what the body holds, up to the cap; what could not be read
    /// (the client stopped) is simply not there.
    static func read(_ request: Request) async -> RefusedBody {
        var hasher = SHA256()
        var head: [UInt8] = []
        var total = 0
        var complete = true
        do {
            for try await chunk in request.body {
                let room = readCap - total
                let take = min(room, chunk.readableBytes)
                chunk.withUnsafeReadableBytes { raw in
                    let part = UnsafeRawBufferPointer(rebasing: raw[..<take])
                    hasher.update(bufferPointer: part)
                    if head.count < excerptBytes { head += part.prefix(excerptBytes - head.count) }
                }
                total += take
                if chunk.readableBytes > room {
                    complete = false
                    break
                }
            }
        } catch {
            complete = false
        }
        return make(head: head, bytesRead: total, complete: complete, digest: Array(hasher.finalize()))
    }

    static func make(head: [UInt8], bytesRead: Int, complete: Bool, digest: [UInt8]) -> RefusedBody {
        let (excerpt, encoding) = text(head, cut: bytesRead > head.count)
        return RefusedBody(excerpt: excerpt, encoding: encoding, bytesRead: bytesRead, complete: complete, sha256: Hex.encode(digest))
    }

    /// UTF-8 text when the bytes are (a character cut at the excerpt's end
    /// is dropped), hex otherwise.
    static func text(_ bytes: [UInt8], cut: Bool) -> (String, String) {
        let backoff = cut ? min(3, bytes.count) : 0
        for drop in 0...backoff {
            if let s = String(validating: bytes.dropLast(drop), as: UTF8.self) { return (s, "utf8") }
        }
        return (Hex.encode(bytes), "hex")
    }

    /// As the command's `request` in the trail.
    var json: JSONValue {
        .object([
            "refused_body": .object([
                "excerpt": .string(excerpt), "encoding": .string(encoding), "bytes_read": .int(Int64(bytesRead)),
                "complete": .bool(complete), "sha256": .string(sha256),
            ])
        ])
    }
}
