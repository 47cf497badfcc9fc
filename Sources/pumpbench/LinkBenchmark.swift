import ArgumentParser
import Foundation
import Link
import Messages
import Serial
import Wire

/// `pumpbench link`: GET_STATUS round trips through SerialLink to pumpsim
/// over a pseudo-terminal, unpaced and paced at a line rate, against the
/// line-time floor (request and answer bytes × 10 ÷ baud).
struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "GET_STATUS round-trip time over a pty to pumpsim: p50, p99, and the line-time floor.",
        discussion: """
            Starts pumpsim (from the same build folder) twice, unpaced and with --baud, opens \
            it through SerialLink as pumpd will, and times --count GET_STATUS requests one \
            after another after a warm-up. The floor is the time the request and its answer \
            take on the wire at that baud (10 bits a byte); unpaced, the pty moves bytes as \
            fast as the kernel copies them.
            """
    )

    @Option(help: "Round trips per case.")
    var count = 2000

    @Option(help: "The paced case's line rate.")
    var baud = 115_200

    @Flag(help: "One JSON object instead of a table.")
    var json = false

    struct Case: Codable {
        var name: String
        var baud: Int?
        var count: Int
        var p50Ms: Double
        var p99Ms: Double
        var maxMs: Double
        var lineFloorMs: Double?
        var wireBytes: Int
    }

    func run() async throws {
        // GET_STATUS: a 28-byte body each way plus 56 bytes of Status in the answer, COBS and delimiter.
        let request = Request.getStatus.frame(seq: 1).sealed(with: SessionKey(pairing: .test, hostNonce: fixedNonce(Array(repeating: 1, count: 16)), deviceNonce: fixedNonce(Array(repeating: 2, count: 16)))).encodeWire().count
        let answer = Frame(kind: .response, seq: 1, opcode: 0x10, payload: [UInt8](repeating: 1, count: 56)).encodeWire().count
        var cases: [Case] = []
        for paced in [false, true] {
            var c = try await measure(baud: paced ? baud : nil)
            c.wireBytes = request + answer
            if paced { c.lineFloorMs = Double((request + answer) * 10) / Double(baud) * 1000 }
            cases.append(c)
        }
        if json {
            let data = try JSONEncoder().encode(cases)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("GET_STATUS round trip through SerialLink ↔ pumpsim over a pty, \(count) requests per case")
        print("case".padding(toLength: 18, withPad: " ", startingAt: 0) + "   p50 ms   p99 ms   max ms   floor ms (\(request + answer) B × 10 ÷ baud)")
        for c in cases {
            let floor = c.lineFloorMs.map { String(format: "%8.3f", $0) } ?? "       –"
            print(c.name.padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: " %8.3f %8.3f %8.3f ", c.p50Ms, c.p99Ms, c.maxMs) + floor)
        }
    }

    func measure(baud: Int?) async throws -> Case {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pumpbench-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let linkPath = folder + "/ph1"
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pumpsim")
        sim.arguments = ["--link", linkPath, "--seed", "1"] + (baud.map { ["--baud", "\($0)"] } ?? [])
        sim.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try sim.run()
        defer {
            sim.terminate()
            sim.waitUntilExit()
        }
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: linkPath) { usleep(10_000) }

        let link = SerialLink(path: linkPath, baud: Baud(rawValue: baud ?? 115_200) ?? .default, pairingKey: .test)
        link.start()
        defer { link.stop() }
        for _ in 0..<500 where !link.isReady { usleep(10_000) }
        guard link.isReady else { throw ValidationError("no session with pumpsim") }

        for _ in 0..<50 { _ = await link.send(.getStatus) }  // warm-up
        let clock = ContinuousClock()
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let start = clock.now
            guard case .answered(.ok, _) = await link.send(.getStatus) else { throw ValidationError("a GET_STATUS failed") }
            samples.append((clock.now - start).seconds * 1000)
        }
        samples.sort()
        func pct(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
        return Case(
            name: baud.map { "paced \($0) baud" } ?? "unpaced", baud: baud, count: count,
            p50Ms: pct(0.50), p99Ms: pct(0.99), maxMs: samples.last ?? 0, lineFloorMs: nil, wireBytes: 0)
    }
}
