import Capture
import Dissector
import JSON
import Simulator
import Wire

/// Captures arrive from other sites: arbitrary bytes as a pcapng file, read
/// as `pumpctl capture decode` and `stats` read it and as `pumpsim --replay`
/// turns it into a script. Beyond "no crash" it checks:
///
/// - `CaptureReader.packets(in:)` and reading packet by packet with `next()`
///   agree: the same packets, or both refuse.
/// - Every packet read is in the documented time range.
/// - The packets read, written again with `Pcapng`'s writer, read back to the
///   same packets (times, directions, bytes).
/// - The decoder, with and without a key, and the statistics take every
///   packet read, and their JSON serialises.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCapture(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let all: [CapturedPacket]
    do { all = try CaptureReader.packets(in: bytes) } catch {
        require(streamed(bytes) == nil, "packets(in:) refuses what next() reads whole")
        return 0
    }
    require(streamed(bytes) == all, "next() reads other packets than packets(in:)")
    for p in all {
        require(CapturedPacket.validTimestamps.contains(p.timestampUs), "a packet outside the time range was read: \(p.timestampUs)")
    }

    // Written again, read again: the same packets.
    var file = Pcapng.sectionHeader(application: "fuzz") + Pcapng.interfaceDescription()
    for p in all { file += Pcapng.enhancedPacket(p) }
    guard let again = try? CaptureReader.packets(in: file) else { fatalError("a capture written from read packets is refused") }
    require(again == all, "packets change through write and read")

    for key in [nil, PairingKey.test] {
        var decoder = CaptureDecoder(pairingKey: key)
        var stats = CaptureStats()
        for p in all {
            stats.add(packet: p)
            guard let rows = try? decoder.decode(p) else { fatalError("the decoder refuses a packet the reader read") }
            for r in rows {
                stats.add(r)
                _ = r.json.serialized
            }
        }
        _ = stats.json.serialized
    }
    _ = try? ReplayScript(packets: all)
    return 0
}

/// The packets `next()` yields until the end, or nil if it refuses one.
func streamed(_ bytes: [UInt8]) -> [CapturedPacket]? {
    var reader = CaptureReader(bytes)
    var out: [CapturedPacket] = []
    do {
        while let p = try reader.next() { out.append(p) }
    } catch {
        return nil
    }
    return out
}

/// `precondition` that says why in a release build too.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
