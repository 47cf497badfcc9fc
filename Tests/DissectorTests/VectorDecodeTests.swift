import Foundation
import TestSupport
import Testing
import Wire
@testable import Dissector
import JSON

/// `frame decode` and `frame encode` against the ICD's vectors: every frame
/// decodes to the vector's own `decoded` object, and encodes back to its wire bytes.
@Suite("ICD vectors: decode and encode")
struct VectorDecodeTests {
    /// A vector's JSON fragment as our JSON value (through text, so numbers stay whole).
    static func json(_ any: Any) -> JSONValue {
        let data = try! JSONSerialization.data(withJSONObject: any, options: [.fragmentsAllowed])
        return try! JSONValue.parse(String(decoding: data, as: UTF8.self))
    }

    @Test("each frame decodes to the vector's decoded fields", arguments: Vectors.names("frames"))
    func decode(_ name: String) throws {
        let v = Vectors.frame(name)
        let decoded = v["decoded"] as! [String: Any]
        var inspector = LinkInspector(pairingKey: nil)
        let reports = inspector.feed(Vectors.bytes(v["wire_hex"]))
        try #require(reports.count == 1)
        let line = reports[0].json
        guard case .object(let o) = line else { Issue.record("not an object"); return }
        #expect(o.keys == ["kind", "seq", "opcode", "status", "len", "payload", "error"])
        for key in ["kind", "seq", "opcode", "status", "len", "payload"] {
            #expect(o[key] == Self.json(decoded[key]!), "\(key)")
        }
        #expect(o["error"] == .null)
    }

    @Test("the whole conversation with the key: only the frame sealed with the wrong key fails")
    func conversationWithKey() {
        var inspector = LinkInspector(pairingKey: .test)
        var failed: [String] = []
        for v in Vectors.frames {
            for r in inspector.feed(Vectors.bytes(v["wire_hex"])) where r.error != nil {
                #expect(r.error == .mac)
                failed.append(v["name"] as! String)
            }
        }
        #expect(failed == ["auth_failed_request"])
        #expect(inspector.hasSession)
    }

    @Test("frames before any HELLO cannot be verified")
    func noSessionYet() {
        var inspector = LinkInspector(pairingKey: .test)
        let r = inspector.feed(Vectors.bytes(Vectors.frame("ping_request")["wire_hex"]))
        #expect(r.map(\.error) == [.mac])
        // Zero-mac answers the ICD allows need no session.
        let a = inspector.feed(Vectors.bytes(Vectors.frame("no_session_response")["wire_hex"]))
        #expect(a.map(\.error) == [nil])
    }

    @Test("a HELLO answer under another pairing key is refused and not adopted")
    func wrongPairingKey() {
        var inspector = LinkInspector(pairingKey: PairingKey(bytes: Array(repeating: 7, count: 32))!)
        let hello = Vectors.bytes(Vectors.frame("hello_request")["wire_hex"]) + Vectors.bytes(Vectors.frame("hello_response")["wire_hex"])
        #expect(inspector.feed(hello).map(\.error) == [nil, .mac])
        #expect(!inspector.hasSession)
    }

    @Test("each frame encodes from its decoded object to the vector's wire bytes", arguments: Vectors.names("frames"))
    func encode(_ name: String) throws {
        let v = Vectors.frame(name)
        // Seal with the vector's key; the builder's own rules decide zero macs,
        // with "authenticated" (present in the vectors) where the ICD leaves it to context.
        var builder = FrameBuilder(pairingKey: .test, sessionKey: Vectors.macKey(v) ?? Vectors.sessionKey)
        if name == "hello_response" {
            _ = try builder.build(Self.json(Vectors.frame("hello_request")["decoded"]!))
        }
        let frame = try builder.build(Self.json(v["decoded"]!))
        #expect(Hex.encode(frame.encodeWire()) == v["wire_hex"] as! String)
    }

    @Test("decode then encode reproduces a whole session's bytes")
    func roundTrip() throws {
        let wire = Vectors.frames.flatMap { Vectors.bytes($0["wire_hex"]) }
        var inspector = LinkInspector(pairingKey: .test)
        var builder = FrameBuilder(pairingKey: .test)
        for (report, v) in zip(inspector.feed(wire), Vectors.frames) where v["name"] as! String != "auth_failed_request" {
            // The JSON line does not say whether a frame was sealed, and for
            // BAD_FRAME that depends on why it was sent: tell the builder.
            guard case .object(var o) = report.json else { continue }
            o["authenticated"] = .bool(v["mac_key"] as! String == "session_key")
            let rebuilt = try builder.build(try JSONValue.parse(JSONValue.object(o).serialized)).encodeWire()
            #expect(Hex.encode(rebuilt) == v["wire_hex"] as! String, "\(v["name"]!)")
        }
    }

    @Test("negative vectors print the error the ICD names", arguments: Vectors.names("negative"))
    func negative(_ name: String) {
        let v = Vectors.entry("negative", name)
        var inspector = LinkInspector(pairingKey: .test)
        // Start the session the vectors' frames belong to.
        _ = inspector.feed(Vectors.bytes(Vectors.frame("hello_request")["wire_hex"]) + Vectors.bytes(Vectors.frame("hello_response")["wire_hex"]))
        let reports = inspector.feed(Vectors.bytes(v["wire_hex"]))
        let errors = reports.compactMap(\.error)
        switch v["reason"] as! String {
        case "empty": #expect(errors.isEmpty && reports.count == 1)
        case "oversize": #expect(errors == [.oversize] && reports.count == 2)
        case "direction": #expect(errors == [.mac])  // a response-kind body whose mac covered a request header
        case "len": #expect(errors == [.length])
        case let reason: #expect(errors == [FrameError(rawValue: reason)!])
        }
        for r in reports where r.error != nil && r.error != .mac {
            #expect(r.kind == nil)
            #expect(r.payload == .null)
        }
    }
}
