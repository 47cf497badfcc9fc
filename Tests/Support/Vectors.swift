import Foundation
import Simulator
import Wire

/// The ICD's known-answer vectors, read from `spec/vectors.json` (a verbatim
/// copy of `../shared/icd/vectors.json`; a test checks that they agree).
public enum Vectors {
    public static let specURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("spec/vectors.json")

    /// The ICD's own copy, beside the checkout (absent outside CI and dev machines).
    public static let sharedURL = specURL
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/icd/vectors.json")

    nonisolated(unsafe) public static let root: [String: Any] = {
        let data = try! Data(contentsOf: specURL)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    public static func list(_ key: String) -> [[String: Any]] { root[key] as! [[String: Any]] }
    public static func object(_ key: String) -> [String: Any] { root[key] as! [String: Any] }

    public static var frames: [[String: Any]] { list("frames") }
    public static var negative: [[String: Any]] { list("negative") }

    public static func frame(_ name: String) -> [String: Any] {
        frames.first { $0["name"] as? String == name }!
    }

    public static func names(_ key: String) -> [String] { list(key).map { $0["name"] as? String ?? $0["description"] as! String } }

    public static func entry(_ key: String, _ name: String) -> [String: Any] {
        list(key).first { ($0["name"] as? String ?? $0["description"] as! String) == name }!
    }

    /// Reads a "0x…" hex or decimal integer field.
    public static func integer(_ v: Any?) -> UInt64 {
        if let s = v as? String {
            return s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16)! : UInt64(s)!
        }
        return (v as! NSNumber).uint64Value
    }

    public static func bytes(_ v: Any?) -> [UInt8] { Hex.decode(v as! String)! }

    public static var session: [String: Any] { object("session") }
    public static let sessionKey: SessionKey = SessionKey(
        pairing: PairingKey(hex: session["pairing_key_hex"] as! String)!,
        hostNonce: Nonce(bytes: bytes(session["host_nonce_hex"]))!,
        deviceNonce: Nonce(bytes: bytes(session["device_nonce_hex"]))!)

    /// The key a frame vector's mac was made with: nil for a zero mac.
    public static func macKey(_ frame: [String: Any]) -> SessionKey? {
        let k = frame["mac_key"] as! String
        if k == "session_key" { return sessionKey }
        if k.hasPrefix("none") { return nil }
        return SessionKey(bytes: Hex.decode(k)!)  // a wrong key used on purpose
    }
}

/// The simulator's SplitMix64, so that property tests are reproducible: a
/// failure names its seed.
public typealias SeededGenerator = SimRandom

extension SimRandom {
    public mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &self) } }
}
