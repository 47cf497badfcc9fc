/// A random UUID (version 4, RFC 9562) to send as `Idempotency-Key`: made
/// once per invocation, so a request the client itself repeats is run at
/// most once, while a new invocation is a new request.
public enum IdempotencyKey {
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        return make(using: &g)
    }

    public static func make(using generator: inout some RandomNumberGenerator) -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40  // version 4
        bytes[8] = bytes[8] & 0x3F | 0x80  // the RFC's variant
        let hex = bytes.map { b in String(b >> 4, radix: 16) + String(b & 0x0F, radix: 16) }
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
    }
}
