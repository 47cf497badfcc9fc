import Foundation
import Testing
import TestSupport
import Wire

/// `pumpctl frame decode|encode` run as a process, the way a user or a
/// script runs them: arguments, standard input, output lines, exit codes.
@Suite("pumpctl frame")
struct FrameCommandTests {
    struct Run {
        var status: Int32
        var output: [UInt8]
        var stderr: String
        var stdout: String { String(decoding: output, as: UTF8.self) }
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pumpctl")

    func pumpctl(_ args: [String], stdin: [UInt8] = []) throws -> Run {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        let input = Pipe(), output = Pipe(), error = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = error
        try p.run()
        input.fileHandleForWriting.write(Data(stdin))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, output: Array(out), stderr: String(decoding: err, as: UTF8.self))
    }

    func keyFile(mode: Int = 0o600) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pumpctl-key-\(UUID().uuidString)").path
        try (Vectors.session["pairing_key_hex"] as! String).write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    var conversation: [UInt8] { Vectors.frames.flatMap { Vectors.bytes($0["wire_hex"]) } }

    @Test("a HELLO answer whose serials are not ASCII decodes field by field, bytes escaped, and encodes back (issue 13)")
    func helloWithBinarySerials() throws {
        var payload = [UInt8](repeating: 0, count: 52)
        for i in 0..<16 { payload[i] = UInt8(i) }  // device nonce
        payload[16] = 1  // protocol
        payload[20...23] = [0x50, 0x48, 0xC3, 0xA9]  // "PH" then UTF-8 é: not ASCII
        payload[32] = 40  // implant model
        payload[34...35] = [0x5C, 0x01]  // a backslash and a control byte
        payload[48] = 0x00; payload[49] = 0x04  // max_payload 1024
        let hello = Frame(kind: .response, seq: 0, opcode: 0x01, status: 0, payload: payload)
        let r = try pumpctl(["frame", "decode", Hex.encode(hello.encodeWire())])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#""programmer_serial":"PH\\xC3\\xA9""#), "\(r.stdout)")
        #expect(r.stdout.contains(#""implant_serial":"\\\\\\x01""#), "\(r.stdout)")
        #expect(!r.stdout.contains("raw"))
        let back = try pumpctl(["frame", "encode"], stdin: Array(r.stdout.utf8))
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.lines == [Hex.encode(hello.encodeWire())])
    }

    @Test("decode from hex argument prints one line with exactly the seven keys")
    func decodeHex() throws {
        let r = try pumpctl(["frame", "decode", Vectors.frame("get_status_request")["wire_hex"] as! String])
        #expect(r.status == 0)
        #expect(r.lines == [#"{"kind":"request","seq":2,"opcode":"GET_STATUS","status":0,"len":0,"payload":{},"error":null}"#])
    }

    @Test("decode raw bytes from standard input: every vector frame, noise reported, mac checked with a key")
    func decodeStdin() throws {
        let noise: [UInt8] = [0xFF, 0xEE, 0x00]
        let key = try keyFile()
        defer { try? FileManager.default.removeItem(atPath: key) }
        let r = try pumpctl(["frame", "decode", "--key-file", key], stdin: noise + conversation)
        #expect(r.status == 0)
        #expect(r.lines.count == Vectors.frames.count + 1)
        #expect(r.lines.first == #"{"kind":null,"seq":null,"opcode":null,"status":null,"len":null,"payload":null,"error":"cobs"}"#)
        #expect(r.lines.filter { $0.hasSuffix(#""error":"mac"}"#) }.count == 1)  // auth_failed_request
        #expect(r.stderr.isEmpty)
    }

    @Test("an incomplete trailing frame is reported on standard error, not as a frame")
    func trailing() throws {
        let r = try pumpctl(["frame", "decode"], stdin: [0x04, 0x01, 0x01])
        #expect(r.status == 0)
        #expect(r.lines.isEmpty)
        #expect(r.stderr.contains("3 bytes after the last 0x00"))
    }

    @Test("decode | encode reproduces the conversation's bytes")
    func pipeline() throws {
        let key = try keyFile()
        defer { try? FileManager.default.removeItem(atPath: key) }
        // Only frames whose seal the JSON determines: drop the deliberately mis-keyed one
        // and the BAD_FRAME answers, whose seal depends on why they were sent.
        let chosen = Vectors.frames.filter {
            !["auth_failed_request", "bad_frame_length_response"].contains($0["name"] as! String)
        }
        let wire = chosen.flatMap { Vectors.bytes($0["wire_hex"]) }
        let decoded = try pumpctl(["frame", "decode", "--key-file", key], stdin: wire)
        #expect(decoded.status == 0)
        let encoded = try pumpctl(["frame", "encode", "--key-file", key, "--raw"], stdin: Array(decoded.stdout.utf8))
        #expect(encoded.status == 0, "\(encoded.stderr)")
        #expect(encoded.output == wire)
    }

    @Test("encode with explicit nonces seals like the vectors")
    func encodeWithNonces() throws {
        let key = try keyFile()
        defer { try? FileManager.default.removeItem(atPath: key) }
        let r = try pumpctl([
            "frame", "encode", "--key-file", key,
            "--host-nonce", Vectors.session["host_nonce_hex"] as! String,
            "--device-nonce", Vectors.session["device_nonce_hex"] as! String,
            #"{"kind":"request","seq":1,"opcode":"PING"}"#,
        ])
        #expect(r.status == 0)
        #expect(r.lines == [Vectors.frame("ping_request")["wire_hex"] as! String])
    }

    @Test("bad input fails closed with a clear message and a documented exit code")
    func failures() throws {
        let notHex = try pumpctl(["frame", "decode", "zz"])
        #expect(notHex.status == 65)
        #expect(notHex.stderr.contains("not hex"))

        let badField = try pumpctl(["frame", "encode"], stdin: Array("{\"kind\":\"request\",\"seq\":1,\"opcode\":\"PING\"}\n{\"kind\":\"request\",\"seq\":1,\"opcode\":\"PING\",\"dose\":1}\n".utf8))
        #expect(badField.status == 65)
        #expect(badField.stdout.isEmpty)  // nothing is written unless every line encodes
        #expect(badField.stderr.contains("line 2: dose"))

        let missing = try pumpctl(["frame", "decode", "--key-file", "/nonexistent/key", "00"])
        #expect(missing.status == 66)

        let exposed = try keyFile(mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: exposed) }
        let warned = try pumpctl(["frame", "decode", "--key-file", exposed, "00"])
        #expect(warned.status == 0)
        #expect(warned.stderr.contains("chmod 600"))

        let usage = try pumpctl(["frame", "encode", "--host-nonce", "00"])
        #expect(usage.status == 64)
    }

    @Test("--help teaches: the keys, the error names, and both directions")
    func help() throws {
        let decode = try pumpctl(["frame", "decode", "--help"])
        for word in ["kind", "seq", "opcode", "status", "len", "payload", "error", "cobs", "oversize", "mac", "--key-file"] {
            #expect(decode.stdout.contains(word), "\(word)")
        }
        let frame = try pumpctl(["frame", "--help"])
        #expect(frame.stdout.contains("decode") && frame.stdout.contains("encode"))
    }
}
