import Crypto

/// The 32-byte pairing key K shared by host and device (ICD §4). Its
/// description is redacted so that a key can never reach a log by accident.
public struct PairingKey: Sendable, CustomStringConvertible {
    let key: SymmetricKey

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        key = SymmetricKey(data: bytes)
    }

    private init(checked bytes: [UInt8]) { key = SymmetricKey(data: bytes) }

    /// 64 hex digits, as in a key file.
    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// The key of every vector and test bench: bytes 0x00, 0x01, …, 0x1F.
    public static let test = PairingKey(checked: Array(0...31))

    public var description: String { "PairingKey(redacted)" }
}

/// A 16-byte random nonce of a HELLO exchange.
public struct Nonce: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    private init(checked bytes: [UInt8]) { self.bytes = bytes }

    /// A fresh nonce from the system's cryptographic generator.
    public static func random() -> Nonce {
        var g = SystemRandomNumberGenerator()
        return random(using: &g)
    }

    /// A nonce from `generator`: deterministic runs (`pumpsim --seed`) pass a seeded one.
    public static func random(using generator: inout some RandomNumberGenerator) -> Nonce {
        Nonce(checked: (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The session tag (ICD §4): the first four bytes of a host nonce as a u32.
    public var sessionTag: UInt32 {
        UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    public var description: String { Hex.encode(bytes) }
}

/// The key of one session: HMAC-SHA256(K, "PPL1-session" ‖ host_nonce ‖ device_nonce).
public struct SessionKey: Sendable, CustomStringConvertible {
    let key: SymmetricKey
    /// HMAC keyed once: each mac copies it instead of redoing the key schedule.
    let keyed: HMAC<SHA256>

    public static let label: [UInt8] = Array("PPL1-session".utf8)

    public init(pairing: PairingKey, hostNonce: Nonce, deviceNonce: Nonce) {
        let message = Self.label + hostNonce.bytes + deviceNonce.bytes
        let digest = HMAC<SHA256>.authenticationCode(for: message, using: pairing.key)
        key = SymmetricKey(data: Array(digest))
        keyed = HMAC(key: key)
    }

    /// A session key given directly (32 bytes), for tools that craft frames.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        key = SymmetricKey(data: bytes)
        keyed = HMAC(key: key)
    }

    /// The raw key, for the known-answer tests only; never log it.
    public var bytesForTesting: [UInt8] { key.withUnsafeBytes { Array($0) } }

    public var description: String { "SessionKey(redacted)" }

    /// The frame mac: the first 16 bytes of HMAC-SHA256 over body[0 ..< 8+len].
    public func mac(_ authenticated: UnsafeRawBufferPointer) -> MAC {
        var hmac = keyed
        hmac.update(data: authenticated)
        return hmac.finalize().withUnsafeBytes { MAC(UnsafeRawBufferPointer(rebasing: $0[0..<16])) }
    }
}

/// A 16-byte frame mac, held as two words so that a frame carries it without
/// an allocation and compares it in constant time.
public struct MAC: Sendable, Hashable, CustomStringConvertible {
    public var first: UInt64
    public var second: UInt64

    /// The mac of an unauthenticated frame.
    public static let zero = MAC(first: 0, second: 0)

    public init(first: UInt64, second: UInt64) {
        self.first = first
        self.second = second
    }

    /// Reads 16 bytes in wire order.
    public init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 16)  // trap-ok: callers pass a fixed 16-byte slice of a body or an HMAC
        first = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        second = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self = bytes.withUnsafeBytes { MAC($0) }
    }

    public var isZero: Bool { first | second == 0 }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: first >> (8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: second >> (8 * $0)) }
    }

    /// Comparison whose time does not depend on where the macs differ.
    public func constantTimeEquals(_ other: MAC) -> Bool {
        ((first ^ other.first) | (second ^ other.second)) == 0
    }

    public var description: String { Hex.encode(bytes) }
}
