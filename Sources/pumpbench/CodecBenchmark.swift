import Messages
import Wire

/// One encode or decode case of `pumpbench codec`.
struct CodecCase: Sendable, Hashable {
    enum Operation: String, Codable, Sendable, CaseIterable {
        case encode, decode
    }

    var operation: Operation
    var payloadBytes: Int
    var mac: Bool

    /// The name both sides report, e.g. "decode 1024 B mac".
    var name: String { "\(operation.rawValue) \(payloadBytes) B \(mac ? "mac" : "no mac")" }

    /// The eight cases, in the yardstick's order.
    static let all: [CodecCase] = Operation.allCases.flatMap { op in
        [16, 1024].flatMap { size in [false, true].map { CodecCase(operation: op, payloadBytes: size, mac: $0) } }
    }
}

/// A Swift case's result, as printed with --json.
struct SwiftCaseResult: Codable, Sendable {
    var name: String
    var op: CodecCase.Operation
    var payloadBytes: Int
    var mac: Bool
    var wireBytesPerFrame: Int
    /// CRC-32C of the wire bytes of the frame with seq 0x1234: the yardstick
    /// reports the same, so equal values show both sides build identical bytes.
    var referenceWireCrc32c: UInt32
    var streamBytes: Int?
    var framesPerStream: Int?
    var measured: Measured
}

/// The PPL/1 codec driven the way pumpd drives it: `Frame` → `sealed(with:)` →
/// `encodeWire()` on the way out, `Deframer` → `authenticate(with:)` on the way in.
struct CodecBenchmark {
    /// A response frame of READ_EVENTS, status OK: the opcode that carries the
    /// largest payloads on a real link.
    static let opcode = Opcode.readEvents.rawValue
    static let status = StatusCode.ok.rawValue
    /// Decode input: at least this many wire bytes of frames…
    static let streamTarget = 8 * 1024 * 1024
    /// …read in slices of this size, as from a serial port's read(2).
    static let slice = 64 * 1024
    static let crcBuffer = 1024 * 1024

    /// The session of the ICD vectors: test pairing key 00…1F, host nonce
    /// A0…AF, device nonce B0…BF.
    let key = SessionKey(
        pairing: .test,
        hostNonce: fixedNonce(Array(0xA0...0xAF)),
        deviceNonce: fixedNonce(Array(0xB0...0xBF)))

    var seconds: Double
    var rounds: Int

    /// The benchmark payload: byte i is (31 i + 7) mod 256, the same in the yardstick.
    static func payload(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: 31 * $0 + 7) }
    }

    func frame(seq: UInt16, payload: [UInt8], mac: Bool) -> Frame {
        let frame = Frame(kind: .response, seq: seq, opcode: Self.opcode, status: Self.status, payload: payload)
        return mac ? frame.sealed(with: key) : frame
    }

    func run(_ c: CodecCase) -> SwiftCaseResult {
        let payload = Self.payload(c.payloadBytes)
        let reference = frame(seq: 0x1234, payload: payload, mac: c.mac).encodeWire()
        var result = SwiftCaseResult(
            name: c.name, op: c.operation, payloadBytes: c.payloadBytes, mac: c.mac,
            wireBytesPerFrame: reference.count,
            referenceWireCrc32c: CRC32C.checksum(reference),
            measured: Measured(
                framesPerS: 0, mbPerS: 0, frames: 0, wireBytes: 0, seconds: 0, rounds: 0, roundsTimed: 0,
                spreadMbPerS: [], check: 0, otherCoresBusy: nil))
        switch c.operation {
        case .encode:
            result.measured = measure(seconds: seconds, rounds: rounds) { n in
                encode(n, payload: payload, mac: c.mac)
            }
        case .decode:
            let (stream, count) = buildStream(payload: payload, mac: c.mac)
            result.streamBytes = stream.count
            result.framesPerStream = count
            result.measured = measure(seconds: seconds, rounds: rounds) { n in
                decode(n, stream: stream, framesPerStream: count, mac: c.mac)
            }
        }
        return result
    }

    /// Builds n frames (seq 0, 1, …, so every mac differs) and their wire bytes.
    func encode(_ n: Int, payload: [UInt8], mac: Bool) -> Work {
        var bytes = 0
        var check: UInt64 = 0
        for i in 0..<n {
            var frame = Frame(
                kind: .response, seq: UInt16(truncatingIfNeeded: i), opcode: Self.opcode,
                status: Self.status, payload: payload)
            if mac { frame = frame.sealed(with: key) }
            let wire = frame.encodeWire()
            bytes += wire.count
            check &+= UInt64(wire[wire.count - 2])
        }
        return Work(frames: n, bytes: bytes, check: check)
    }

    /// Frames with seq 0, 1, … back to back until at least `streamTarget` bytes.
    func buildStream(payload: [UInt8], mac: Bool) -> (stream: [UInt8], frames: Int) {
        var stream: [UInt8] = []
        stream.reserveCapacity(Self.streamTarget + 2 * BodyLayout.maxChunk)
        var count = 0
        while stream.count < Self.streamTarget {
            stream += frame(seq: UInt16(truncatingIfNeeded: count), payload: payload, mac: mac).encodeWire()
            count += 1
        }
        return (stream, count)
    }

    /// Runs the stream through a fresh host-side Deframer n times, in 64 KiB
    /// slices, verifying every mac in the mac cases.
    func decode(_ n: Int, stream: [UInt8], framesPerStream: Int, mac: Bool) -> Work {
        var check: UInt64 = 0
        for _ in 0..<n {
            var deframer = Deframer(receiver: .host)
            var frames = 0
            var bad = 0
            var macFailures = 0
            stream.withUnsafeBytes { raw in
                var start = 0
                while start < raw.count {
                    let end = min(start + Self.slice, raw.count)
                    deframer.feed(UnsafeRawBufferPointer(rebasing: raw[start..<end])) { item in
                        switch item {
                        case .frame(let frame):
                            if mac {
                                do { try frame.authenticate(with: key) } catch {
                                    macFailures += 1
                                    return
                                }
                            }
                            frames += 1
                            check &+= UInt64(frame.seq) &+ UInt64(frame.payload.count)
                        case .bad:
                            bad += 1
                        }
                    }
                    start = end
                }
            }
            // trap-ok: a check of the benchmark's own streams; a failure means the figures measure nothing.
            precondition(
                frames == framesPerStream && bad == 0 && macFailures == 0 && deframer.pendingCount == 0,
                "decode lost frames: \(frames) of \(framesPerStream), \(bad) bad, \(macFailures) mac failures")
        }
        return Work(frames: n * framesPerStream, bytes: n * stream.count, check: check)
    }

    /// CRC-32C over a 1 MiB buffer: the slice-by-8 hot path and the byte-at-a-time reference.
    func crc() -> CRCResult {
        let buffer = Self.payload(Self.crcBuffer)
        let expected = buffer.withUnsafeBytes { CRC32C.bytewise($0) }
        func run(_ n: Int, _ crc: (UnsafeRawBufferPointer) -> UInt32) -> Work {
            buffer.withUnsafeBytes { raw in
                var check: UInt64 = 0
                for _ in 0..<n {
                    let value = crc(raw)
                    precondition(value == expected, "CRC-32C variants disagree")  // trap-ok: the two CRCs of one buffer
                    check &+= UInt64(value)
                }
                return Work(frames: n, bytes: n * raw.count, check: check)
            }
        }
        let sliced = measure(seconds: seconds, rounds: rounds) { run($0, CRC32C.checksum) }
        let bytewise = measure(seconds: seconds, rounds: rounds) { run($0, CRC32C.bytewise) }
        return CRCResult(
            bufferBytes: Self.crcBuffer, sliceBy8: sliced, bytewise: bytewise,
            speedup: sliced.mbPerS / bytewise.mbPerS)
    }
}

struct CRCResult: Codable, Sendable {
    var bufferBytes: Int
    /// `CRC32C.checksum`: eight bytes per step through eight tables.
    var sliceBy8: Measured
    /// `CRC32C.bytewise`: one table lookup per byte.
    var bytewise: Measured
    /// Slice-by-8 MB/s over bytewise MB/s.
    var speedup: Double

    enum CodingKeys: String, CodingKey {
        case bytewise, speedup
        case bufferBytes = "buffer_bytes"
        case sliceBy8 = "slice_by_8"
    }
}
