import ArgumentParser
import Foundation

struct CodecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Wire codec throughput: encode, decode and CRC-32C, against a Python yardstick.",
        discussion: """
            Eight cases: encode and decode, payloads of 16 and 1024 bytes, with and without \
            the mac. Encode builds a response frame (sealed with a session key in the mac \
            cases) and its wire bytes. Decode feeds a host-side Deframer an ~8 MiB stream of \
            such frames in 64 KiB slices and, in the mac cases, authenticates every frame. \
            Then CRC-32C alone over 1 MiB: slice-by-8 (CRC32C.checksum) against one byte at a \
            time (CRC32C.bytewise).

            MB is 10^6 wire bytes: the COBS-encoded frame and its 0x00 delimiter. Each case \
            is warmed up, then timed with ContinuousClock in rounds of --seconds/--rounds \
            until --rounds of them were quiet (other processes took at most 0.2 cores \
            meanwhile, read from /proc/stat) or 4 x --rounds were run; the median quiet round \
            is reported, and the "others" column shows how busy the machine was.

            The same work then runs through Python's C extensions (Benchmarks/codec_yardstick.py: \
            PyPI cobs and crc32c, and hmac), and the table shows both with Swift's rate over \
            Python's. Without python3 or its modules the yardstick is skipped with a note; \
            install them with `python3 -m pip install -r Benchmarks/requirements.txt`.
            """
    )

    @Option(help: "Measured seconds per case on a quiet machine, spread over the rounds.")
    var seconds: Double = 1.5

    @Option(help: "Quiet timed rounds wanted per case; the median is reported.")
    var rounds: Int = 5

    @Option(help: "Run only the cases whose name contains this text, e.g. \"decode 1024\" or \"crc\".")
    var only: String?

    @Option(help: ArgumentHelp("The Python yardstick script.", valueName: "path"))
    var yardstick: String = "Benchmarks/codec_yardstick.py"

    @Flag(help: "Measure Swift only.")
    var noYardstick = false

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard rounds >= 1, rounds <= 1000 else { throw ValidationError("--rounds must be in 1…1000") }
    }

    func run() throws {
        let machine = Machine.current()
        let bench = CodecBenchmark(seconds: seconds, rounds: rounds)
        var cases: [SwiftCaseResult] = []
        for c in CodecCase.all where only.map({ c.name.contains($0) }) ?? true {
            progress("swift  \(c.name)")
            cases.append(bench.run(c))
        }
        var crc: CRCResult?
        if only.map({ CodecReport.crcName.contains($0) }) ?? true {
            progress("swift  \(CodecReport.crcName)")
            crc = bench.crc()
        }

        var python: YardstickReport?
        var note: String?
        if noYardstick {
            note = "yardstick skipped: --no-yardstick"
        } else {
            progress("python \(yardstick) (the same cases)")
            switch Yardstick.run(script: yardstick, seconds: seconds, rounds: rounds, only: only) {
            case .report(let report): python = report
            case .skipped(let why): note = why
            }
        }
        if let note { progress(note) }

        let report = CodecReport(
            machine: machine, secondsPerCase: seconds, rounds: rounds,
            swift: .init(cases: cases, crc: crc), python: python, pythonNote: note)
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.table())
        }
    }

    private func progress(_ line: String) {
        FileHandle.standardError.write(Data("pumpbench: \(line)\n".utf8))
    }
}

/// The facts that make figures comparable between runs.
struct Machine: Codable, Sendable {
    var cores: Int
    var cpu: String
    var os: String
    var loadAverageAtStart: String
    var build: String

    static func current() -> Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n")
            .first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).joined(separator: " ")
        #if DEBUG
            let build = "debug"
        #else
            let build = "release"
        #endif
        return Machine(
            cores: ProcessInfo.processInfo.activeProcessorCount,
            cpu: model ?? "unknown",
            os: ProcessInfo.processInfo.operatingSystemVersionString,
            loadAverageAtStart: load ?? "unknown",
            build: build)
    }
}
