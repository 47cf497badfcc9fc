import Foundation
import Testing
@testable import Capture

/// The recorder on a real file: packets cut at delimiters, streams exact,
/// nothing overwritten, and a file that reads back while still being written.
@Suite("Recorder")
struct RecorderTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("capture-\(UUID().uuidString.prefix(8)).pcapng").path
    }

    static func read(_ path: String) throws -> [CapturedPacket] {
        try CaptureReader.packets(in: Array(FileManager.default.contents(atPath: path) ?? Data()))
    }

    @Test("a packet per delimited chunk, whatever the reads' sizes; each direction's bytes concatenate exactly")
    func chunking() throws {
        let path = Self.temporaryPath()
        defer { unlink(path) }
        let recorder = try CaptureRecorder(path: path, application: "test", now: 0)
        let fromDevice: [UInt8] = [0xAA, 0xBB, 0x00, 0x03, 0x01, 0x02, 0x00, 0x00, 0x05, 0x06]
        // Read in pieces that cut chunks anywhere.
        recorder.record(.deviceToHost, fromDevice[0..<1], at: 10)
        recorder.record(.deviceToHost, fromDevice[1..<5], at: 20)
        recorder.record(.hostToDevice, [0x00], at: 25)
        recorder.record(.deviceToHost, fromDevice[5...], at: 30)
        let live = try Self.read(path)
        // Written as each delimiter crossed: readable before the recorder stops.
        #expect(live.map(\.bytes) == [[0xAA, 0xBB, 0x00], [0x00], [0x03, 0x01, 0x02, 0x00], [0x00]])
        #expect(live.map(\.timestampUs) == [20, 25, 30, 30])
        let summary = recorder.stop(at: 40)
        let all = try Self.read(path)
        #expect(all.last == CapturedPacket(timestampUs: 40, direction: .deviceToHost, bytes: [0x05, 0x06]))
        #expect(all.filter { $0.direction == .deviceToHost }.flatMap(\.bytes) == fromDevice)
        #expect(summary.packets == 5 && summary.bytes == fromDevice.count + 1)
    }

    @Test("a run without a delimiter is cut at the packet limit and continues")
    func longRun() {
        var chunker = WireChunker()
        let run = [UInt8](repeating: 0x55, count: WireChunker.maxPacket + 10) + [0]
        let packets = chunker.feed(run)
        #expect(packets.map(\.count) == [WireChunker.maxPacket, 11])
        #expect(packets.flatMap { $0 } == run)
        #expect(chunker.flush() == nil)
    }

    @Test("an existing file is never overwritten")
    func noOverwrite() throws {
        let path = Self.temporaryPath()
        defer { unlink(path) }
        FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8))
        #expect(throws: CaptureFileError.self) { try CaptureRecorder(path: path, application: "test") }
        #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))
    }
}
