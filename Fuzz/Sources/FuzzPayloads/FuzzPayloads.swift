import Dissector
import JSON
import Messages
import Wire

/// Runs every payload decoder on arbitrary bytes. The first byte picks the
/// opcode and the second the status; the rest is the payload. Whatever a
/// decoder accepts must encode back to exactly the bytes it read, and the
/// JSON a tool prints of it must build back to the same payload.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPayloads(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard bytes.count >= 2 else { return 0 }
    let payload = Array(bytes.dropFirst(2).prefix(BodyLayout.maxPayload))
    let opcode = Opcode.allCases[Int(bytes[0]) % Opcode.allCases.count]
    let status = StatusCode.allCases[Int(bytes[1]) % StatusCode.allCases.count]

    if let r = try? Request.decode(opcode: opcode, payload: payload) {
        precondition(r.encodePayload() == payload, "request \(opcode.name) does not round-trip")
        _ = try? r.validate()
        check(Frame(kind: .request, seq: 1, opcode: opcode.rawValue, payload: payload))
    }
    if let p = try? ResponsePayload.decode(opcode: opcode, status: status, payload: payload) {
        precondition(p.encode() == payload, "response \(opcode.name)/\(status.name) does not round-trip")
        check(Frame(kind: .response, seq: 1, opcode: opcode.rawValue, status: status.rawValue, payload: payload))
    }
    if let program = try? ProgramRecord.decode(payload) {
        precondition(program.encode() == payload, "program does not round-trip")
        if let valid = try? program.validated() { precondition(valid.record == program, "validated program changed its bytes") }
    }
    if let s = try? Status.decode(payload) {
        precondition(s.encode() == payload, "status does not round-trip")
        _ = try? s.validate()
    }
    if let e = try? EventRecord.decode(payload) {
        precondition(e.encode() == payload, "event does not round-trip")
        check(e.frame)
    }
    // The same bytes as JSON text for `frame encode`'s reader: it must refuse or build, never crash.
    if let text = String(validating: bytes, as: UTF8.self), let json = try? JSONValue.parse(text) {
        var builder = FrameBuilder(pairingKey: .test)
        _ = try? builder.build(json)
    }
    return 0
}

/// A frame's JSON description builds back to the same payload.
func check(_ frame: Frame) {
    let report = FrameReport(frame: frame)
    var builder = FrameBuilder(pairingKey: nil)
    guard let rebuilt = try? builder.build(try JSONValue.parse(report.json.serialized)) else {
        preconditionFailure("the JSON of a decodable frame does not build: \(report.json.serialized)")
    }
    precondition(rebuilt.payload == frame.payload, "JSON round trip changed the payload: \(report.json.serialized)")
}
