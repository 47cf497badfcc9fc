import ArgumentParser
import Capture
import Dissector
import Foundation
import JSON
import Messages
import Wire

struct CaptureBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture decoding throughput: a capture of a million frames read, decoded and printed.",
        discussion: """
            Builds a capture of --frames packets in memory and writes it to a temporary file: \
            one session (flush, HELLO and its answer), then GET_STATUS requests and their \
            56-byte answers, READ_EVENTS answers with 4 events, and event frames, all sealed \
            with the session key. Then times, each --rounds times (the median is reported):

              read      the file read and parsed into packets (CaptureReader)
              decode    packets deframed per direction and described (CaptureDecoder), no key
              verify    the same with the pairing key: every mac checked (HMAC-SHA256)
              json      verify plus each row serialized as `pumpctl capture decode --json` prints it

            Frames/s counts packets; MB/s is 10^6 bytes of the file.
            """
    )

    @Option(help: "Packets in the capture.")
    var frames: Int = 1_000_000

    @Option(help: "Timed runs per stage; the median is reported.")
    var rounds: Int = 3

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Only write the capture to this new file, and time nothing.", valueName: "file"))
    var write: String?

    func validate() throws {
        guard frames >= 100, frames <= 20_000_000 else { throw ValidationError("--frames must be in 100…20000000") }
        guard rounds >= 1, rounds <= 50 else { throw ValidationError("--rounds must be in 1…50") }
    }

    func run() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pumpbench-\(getpid()).pcapng").path
        defer { unlink(path) }
        progress("building a capture of \(frames) packets")
        let file = Self.build(frames: frames)
        if let write {
            guard FileManager.default.createFile(atPath: write, contents: Data(file)) else { throw ValidationError("cannot write \(write)") }
            return
        }
        FileManager.default.createFile(atPath: path, contents: Data(file))
        let packets = try CaptureReader.packets(in: file)
        precondition(packets.count == frames)  // trap-ok: checks the benchmark's own capture; a wrong count makes every figure wrong

        var results: [(String, Double, Int)] = []
        func stage(_ name: String, _ body: () throws -> Int) rethrows {
            progress(name)
            var times: [Double] = []
            var check = 0
            for _ in 0..<rounds {
                let start = ContinuousClock.now
                check = try body()
                times.append((ContinuousClock.now - start).seconds)
            }
            results.append((name, times.sorted()[times.count / 2], check))
        }
        try stage("read") {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read back \(path)") }
            return try CaptureReader.packets(in: Array(data)).count
        }
        try stage("decode") {
            var d = CaptureDecoder(pairingKey: nil)
            var rows = 0
            for p in packets { rows += try d.decode(p).count }
            return rows
        }
        try stage("verify") {
            var d = CaptureDecoder(pairingKey: .test)
            var bad = 0
            for p in packets { for r in try d.decode(p) where r.errorWord != nil && r.errorWord != "empty" { bad += 1 } }
            precondition(bad == 0, "\(bad) rows failed")  // trap-ok: the benchmark's own frames; a failure means the figures measure nothing
            return packets.count
        }
        try stage("json") {
            var d = CaptureDecoder(pairingKey: .test)
            var total = 0
            for p in packets { for r in try d.decode(p) { total += r.json.serialized.utf8.count + 1 } }
            return total
        }

        let size = Double(file.count)
        if json {
            var o: [String: Any] = ["packets": frames, "file_bytes": file.count]
            for (name, s, _) in results {
                o[name] = ["seconds": s, "frames_per_s": Double(frames) / s, "mb_per_s": size / s / 1e6]
            }
            let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("capture: \(frames) packets, \(file.count) bytes (\(String(format: "%.1f", size / 1e6)) MB)")
        print("stage    seconds   frames/s     MB/s")
        for (name, s, _) in results {
            print(name.padding(toLength: 8, withPad: " ", startingAt: 0)
                + String(format: " %7.3f  %10.0f  %7.1f", s, Double(frames) / s, size / s / 1e6))
        }
    }

    private func progress(_ line: String) {
        FileHandle.standardError.write(Data("pumpbench: \(line)\n".utf8))
    }

    /// A plausible long session, every frame sealed with its session key.
    static func build(frames: Int) -> [UInt8] {
        let hostNonce = fixedNonce(Array(repeating: 0x11, count: 16))
        let deviceNonce = fixedNonce(Array(repeating: 0x22, count: 16))
        let key = SessionKey(pairing: .test, hostNonce: hostNonce, deviceNonce: deviceNonce)
        let reply = HelloReply(
            deviceNonce: deviceNonce, fwMajor: 1, fwMinor: 0, fwPatch: 0, programmerSerial: "PH1-1", implantModel: 40,
            implantSerial: "IP40-1", maxPayload: 1024
        ).encode()
        var out = Pcapng.sectionHeader(application: "pumpbench") + Pcapng.interfaceDescription()
        out.reserveCapacity(frames * 110)
        var t: Int64 = 1_795_000_000_000_000
        func add(_ d: LinkDirection, _ bytes: [UInt8]) {
            t += 300
            out += Pcapng.enhancedPacket(CapturedPacket(timestampUs: t, direction: d, bytes: bytes))
        }
        add(.hostToDevice, [0])
        add(.hostToDevice, Frame(kind: .request, seq: 0, opcode: Opcode.hello.rawValue, payload: Request.hello(Hello(hostNonce: hostNonce)).encodePayload()).encodeWire())
        add(.deviceToHost, Frame(kind: .response, seq: 0, opcode: Opcode.hello.rawValue, payload: reply).sealed(with: key).encodeWire())
        let status = [UInt8](repeating: 0x5A, count: 56)
        let event = (0..<28).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }
        var events: [UInt8] = [4]
        for _ in 0..<4 { events += event }
        var seq: UInt16 = 0
        var n = 3
        while n < frames {
            seq = seq == 65535 ? 1 : seq + 1
            switch n % 10 {
            case 8:
                add(.deviceToHost, Frame(kind: .event, seq: seq, opcode: 0x11, payload: event).sealed(with: key).encodeWire())
            case 6:
                add(.hostToDevice, Frame(kind: .request, seq: seq, opcode: Opcode.readEvents.rawValue, payload: [0, 0, 0, 0, 4]).sealed(with: key).encodeWire())
            case 7:
                add(.deviceToHost, Frame(kind: .response, seq: seq &- 1, opcode: Opcode.readEvents.rawValue, payload: events).sealed(with: key).encodeWire())
            case let k where k % 2 == 0:
                add(.hostToDevice, Frame(kind: .request, seq: seq, opcode: Opcode.getStatus.rawValue).sealed(with: key).encodeWire())
            default:
                add(.deviceToHost, Frame(kind: .response, seq: seq &- 1, opcode: Opcode.getStatus.rawValue, payload: status).sealed(with: key).encodeWire())
            }
            n += 1
        }
        return out
    }
}
