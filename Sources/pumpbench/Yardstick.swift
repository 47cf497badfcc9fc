import Foundation

/// The report of Benchmarks/codec_yardstick.py --json (the fields pumpbench uses),
/// with its own snake_case keys, which `pumpbench codec --json` passes on as they are.
struct YardstickReport: Codable, Sendable {
    struct Modules: Codable, Sendable {
        var cobs: String
        var cobsCExtension: Bool
        var crc32c: String
        var crc32cHardware: Bool
        var hmac: String

        enum CodingKeys: String, CodingKey {
            case cobs, crc32c, hmac
            case cobsCExtension = "cobs_c_extension"
            case crc32cHardware = "crc32c_hardware"
        }
    }

    struct Case: Codable, Sendable {
        var name: String
        var op: String
        var payloadBytes: Int
        var mac: Bool
        var wireBytesPerFrame: Int
        var referenceWireCrc32c: UInt32
        var framesPerS: Double
        var mbPerS: Double
        var frames: Int
        var wireBytes: Int
        var seconds: Double
        var rounds: Int
        var roundsTimed: Int?
        var spreadMbPerS: [Double]
        var otherCoresBusy: Double?

        enum CodingKeys: String, CodingKey {
            case name, op, mac, frames, seconds, rounds
            case roundsTimed = "rounds_timed"
            case otherCoresBusy = "other_cores_busy"
            case payloadBytes = "payload_bytes"
            case wireBytesPerFrame = "wire_bytes_per_frame"
            case referenceWireCrc32c = "reference_wire_crc32c"
            case framesPerS = "frames_per_s"
            case mbPerS = "mb_per_s"
            case wireBytes = "wire_bytes"
            case spreadMbPerS = "spread_mb_per_s"
        }
    }

    struct CRC: Codable, Sendable {
        var bufferBytes: Int
        var hardware: Bool
        var mbPerS: Double
        var spreadMbPerS: [Double]
        var otherCoresBusy: Double?

        enum CodingKeys: String, CodingKey {
            case hardware
            case otherCoresBusy = "other_cores_busy"
            case bufferBytes = "buffer_bytes"
            case mbPerS = "mb_per_s"
            case spreadMbPerS = "spread_mb_per_s"
        }
    }

    var python: String
    var implementation: String
    var modules: Modules
    var cases: [Case]
    /// Absent when --only left the CRC case out.
    var crc: CRC?
}

/// Runs the Python yardstick as a child process and reads its JSON, or says
/// why it could not (no python3, a module missing, no script, a crash).
enum Yardstick {
    enum Outcome: Sendable {
        case report(YardstickReport)
        case skipped(String)
    }

    static func run(script: String, seconds: Double, rounds: Int, only: String?) -> Outcome {
        guard FileManager.default.fileExists(atPath: script) else {
            return .skipped(
                "yardstick skipped: no script at \(script) (run from the repository root, or pass --yardstick PATH)")
        }
        let process = Process()
        // /usr/bin/env finds python3 on PATH, as a shell would.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", script, "--json", "--seconds", String(seconds), "--rounds", String(rounds)]
        if let only { arguments += ["--only", only] }
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return .skipped("yardstick skipped: cannot start /usr/bin/env python3: \(error)")
        }
        // Read both pipes to the end before waiting, so a full pipe cannot stall the child.
        let errorData = Locked<Data>(Data())
        let errorHandle = stderr.fileHandleForReading
        let reading = DispatchGroup()
        DispatchQueue.global().async(group: reading) { errorData.set(errorHandle.readDataToEndOfFile()) }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        reading.wait()
        let message = String(decoding: errorData.value, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        switch process.terminationStatus {
        case 0:
            break
        case 127:
            return .skipped("yardstick skipped: python3 is not on PATH")
        case 3:
            return .skipped("yardstick skipped: \(message)")
        default:
            return .skipped(
                "yardstick failed (exit \(process.terminationStatus)): \(message.isEmpty ? "no message" : message)")
        }
        do {
            // Explicit CodingKeys, not .convertFromSnakeCase: Foundation capitalizes
            // "crc32c" as "Crc32C", which matches no property.
            let decoder = JSONDecoder()
            return .report(try decoder.decode(YardstickReport.self, from: output))
        } catch {
            return .skipped("yardstick failed: its output is not the expected JSON (\(error))")
        }
    }
}

/// A value handed from one thread to another under a lock.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    func set(_ value: Value) {
        lock.lock()
        defer { lock.unlock() }
        stored = value
    }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
