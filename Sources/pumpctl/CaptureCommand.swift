import ArgumentParser
import Capture
import Client
import Dissector
import Foundation
import JSON
import Wire

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Read link captures: every frame decoded, or a summary; start and stop recording.",
        discussion: """
            A capture is a pcapng file of what crossed the serial link, one packet per wire \
            frame (or run of noise), with its time and direction (spec/captures.md). pumpd \
            records one with `pumpd --capture FILE`, or at run time with `pumpctl capture start` \
            and `stop` (files go to pumpd's data dir, under captures/). Wireshark reads them \
            with spec/ppl1.lua; pumpsim replays one as a device with `pumpsim --replay FILE`.

              pumpctl capture decode visit.pcapng
              pumpctl capture decode --key-file pairing.key --json visit.pcapng | jq .
              pumpctl capture stats visit.pcapng
              pumpctl capture start --name clinic-visit ... pumpctl capture stop

            decode and stats exit 65 when the file is not a capture they can read (the \
            message names the byte, and the packet for a time outside 1970-9999), and 66 \
            when it cannot be read at all.
            """,
        subcommands: [Decode.self, Stats.self, Start.self, Stop.self, Status.self]
    )

    /// Reads a capture file whole, or exits with a message that says why not.
    static func read(_ path: String) throws -> [CapturedPacket] {
        guard let data = FileManager.default.contents(atPath: path) else {
            Terminal.error("cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
            throw Exit.noInput
        }
        var reader = CaptureReader(Array(data))
        var packets: [CapturedPacket] = []
        do {
            while let p = try reader.next() { packets.append(p) }
        } catch let e {
            if case .truncated = e, !packets.isEmpty {
                // What was written before the cut is still exact; say so and go on.
                Terminal.error("warning: \(path): \(e); decoding the \(packets.count) whole packets before it")
                return packets
            }
            Terminal.error("\(path): \(e)")
            throw Exit.dataError
        }
        return packets
    }

    /// The decoder's rows for one packet, or exit 65 naming the packet (a time
    /// outside 1970–9999: the reader refuses those already, so this is the
    /// decoder's own check holding).
    static func rows(_ decoder: inout CaptureDecoder, _ packet: CapturedPacket, file: String) throws -> [CaptureRow] {
        do {
            return try decoder.decode(packet)
        } catch let e {
            Terminal.error("\(file): \(e)")
            throw Exit.dataError
        }
    }

    /// Microseconds as milliseconds with `decimals` places (rounded down in magnitude), sign in front.
    static func milliseconds(_ us: Int64, decimals: Int) -> String {
        let m = us.magnitude
        let fraction = String((m % 1000) / (decimals == 2 ? 10 : 1)).leftPadded(decimals)
        return "\(us < 0 ? "-" : "")\(m / 1000).\(fraction)"
    }
}

extension CaptureCommand {
    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode every packet of a capture: a table, or one JSON object per line.",
            discussion: """
                Each JSON line has the keys of `pumpctl frame decode` (kind, seq, opcode, status, \
                len, payload, error) after two more:
                  t_us   microseconds since the capture's first packet
                  dir    "H>D" (host to device) or "D>H" (device to host)
                error adds two words for packets that hold no chunk: "empty" (a lone 0x00, the \
                host flushing the line) and "incomplete" (bytes with no delimiter, at the end of \
                a recording).

                Each direction is decoded as its own byte stream. With --key-file macs are \
                checked, with session keys derived from the HELLO exchanges in the capture; \
                frames before the first verified HELLO answer show error "mac". The key is \
                never in a capture: a capture is safe to share, the key file is not.
                """
        )

        @Argument(help: ArgumentHelp("The capture (pcapng).", valueName: "file"))
        var file: String

        @Option(name: .long, help: ArgumentHelp("Pairing-key file (64 hex digits); checks macs.", valueName: "file"))
        var keyFile: String?

        @Flag(name: .long, help: "One JSON object per packet instead of a table.")
        var json = false

        func run() throws {
            let key = try loadToolKey(keyFile)
            let packets = try CaptureCommand.read(file)
            var decoder = CaptureDecoder(pairingKey: key)
            if json {
                for p in packets {
                    for row in try CaptureCommand.rows(&decoder, p, file: file) { Terminal.line(row.json.serialized) }
                }
                return
            }
            var table: [[String]] = [["#", "t (ms)", "dir", "kind", "seq", "opcode", "status", "len", "error", "payload"]]
            for p in packets {
                for row in try CaptureCommand.rows(&decoder, p, file: file) { table.append(Self.cells(row)) }
            }
            TextTable.print(table)
            if key == nil { Terminal.error("note: no --key-file, so macs were not checked") }
        }

        static func cells(_ row: CaptureRow) -> [String] {
            let ms = CaptureCommand.milliseconds(row.tUs, decimals: 3)
            func text(_ v: JSONValue?) -> String {
                switch v {
                case .string(let s)?: s
                case .int(let n)?: "\(n)"
                case .null?, nil: "-"
                case let other?: other.serialized
                }
            }
            let r = row.report?.json
            var payload = text(r?["payload"])
            if payload == "{}" { payload = "" }
            if payload.count > 100 { payload = String(payload.prefix(97)) + "..." }
            return [
                "\(row.packet)", ms, row.direction.arrow, text(r?["kind"]), text(r?["seq"]), text(r?["opcode"]),
                text(r?["status"]), text(r?["len"]), row.errorWord ?? "", payload,
            ]
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise a capture: frames per opcode and status, events, errors, retransmissions, round trips.",
            discussion: """
                A retransmission is a request identical to the one before it (same seq, opcode \
                and payload: ICD §5). A round trip runs from a request's last transmission to \
                the answer with its seq and opcode. Errors are counted per direction: cobs, \
                short, crc, oversize, version, length, kind, mac (with --key-file), empty and \
                incomplete, as `capture decode` names them.
                """
        )

        @Argument(help: ArgumentHelp("The capture (pcapng).", valueName: "file"))
        var file: String

        @Option(name: .long, help: ArgumentHelp("Pairing-key file (64 hex digits); counts mac failures.", valueName: "file"))
        var keyFile: String?

        @Flag(name: .long, help: "Print the summary as one JSON object.")
        var json = false

        func run() throws {
            let key = try loadToolKey(keyFile)
            let packets = try CaptureCommand.read(file)
            var decoder = CaptureDecoder(pairingKey: key)
            var stats = CaptureStats()
            for p in packets {
                stats.add(packet: p)
                for row in try CaptureCommand.rows(&decoder, p, file: file) { stats.add(row) }
            }
            if json {
                Terminal.line(stats.json.serialized)
                return
            }
            Self.printTable(stats, file: file)
        }

        static func printTable(_ s: CaptureStats, file: String) {
            let j = s.json
            func n(_ v: JSONValue?) -> Int64 { if case .int(let x)? = v { return x } else { return 0 } }
            func ms(_ us: Int64) -> String { CaptureCommand.milliseconds(us, decimals: 2) }
            Terminal.line("\(file): \(n(j["packets"]?["H>D"]) + n(j["packets"]?["D>H"])) packets over \(ms(s.lastUs)) ms")
            Terminal.line("  host to device: \(n(j["packets"]?["H>D"])) packets, \(n(j["bytes"]?["H>D"])) bytes")
            Terminal.line("  device to host: \(n(j["packets"]?["D>H"])) packets, \(n(j["bytes"]?["D>H"])) bytes")
            Terminal.line("  sessions (HELLO answered OK): \(s.sessions)")
            Terminal.line("")
            var rows: [[String]] = [["opcode", "requests", "retrans", "answers", "rtt p50 ms", "p90", "max"]]
            if case .object(let ops)? = j["opcodes"] {
                for name in ops.keys {
                    guard let o = ops[name] else { continue }
                    var answers: [String] = []
                    if case .object(let a)? = o["answers"] { answers = a.keys.map { "\($0) \(n(a[$0]))" } }
                    let rtt = o["rtt_us"]
                    let times = rtt == .null ? ["-", "-", "-"] : [ms(n(rtt?["p50"])), ms(n(rtt?["p90"])), ms(n(rtt?["max"]))]
                    rows.append([name, "\(n(o["requests"]))", "\(n(o["retransmissions"]))", answers.joined(separator: ", ")] + times)
                }
            }
            TextTable.print(rows)
            Terminal.line("")
            if case .object(let ev)? = j["events"], !ev.keys.isEmpty {
                Terminal.line("events: " + ev.keys.map { "\($0) \(n(ev[$0]))" }.joined(separator: ", "))
            } else {
                Terminal.line("events: none")
            }
            if case .object(let err)? = j["errors"], !err.keys.isEmpty {
                Terminal.line("errors: " + err.keys.map { "\($0) \(n(err[$0]?["H>D"]) + n(err[$0]?["D>H"])) (H>D \(n(err[$0]?["H>D"])), D>H \(n(err[$0]?["D>H"])))" }.joined(separator: ", "))
            } else {
                Terminal.line("errors: none")
            }
            Terminal.line("unanswered requests: \(s.unansweredRequests); answers matching no request: \(s.unmatchedAnswers)")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

extension CaptureCommand {
    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask pumpd to start recording the link (a clinician's write, audited).",
            discussion: """
                pumpd writes DATA_DIR/captures/NAME.pcapng and never overwrites a file. One \
                recording runs at a time. Stop it with `pumpctl capture stop`; pumpd also stops \
                it when it exits. `pumpctl capture status` shows the one running.

                  pumpctl capture start --name pump-visit-0312
                """
        )

        @Option(help: ArgumentHelp("File name in pumpd's captures folder (letters, digits, . _ -). Default: capture-<UTC time>.", valueName: "name"))
        var name: String?

        @OptionGroup var daemon: DaemonOptions

        func run() throws {
            try CaptureCommand.change(daemon, "POST", body: name.map { JSONValue.object(["name": .string($0)]) })
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask pumpd to stop recording and close the capture file (audited).",
            discussion: """
                Prints the file and how many packets it holds; decode it with \
                `pumpctl capture decode FILE`.
                """
        )

        @OptionGroup var daemon: DaemonOptions

        func run() throws {
            try CaptureCommand.change(daemon, "DELETE", body: nil)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show whether pumpd is recording, to which file, and how much.")

        @OptionGroup var daemon: DaemonOptions

        func run() throws {
            let answer = try daemon.pumpd.get("/v1/capture")
            if daemon.json {
                daemon.pumpd.printVerbatim(answer.response)
                return
            }
            let c = answer.body
            guard c["recording"] == .bool(true) else {
                Terminal.line("not recording (start with `pumpctl capture start`)")
                return
            }
            Terminal.line("recording to \(c["path"]?.text ?? "?") since \(c["started"]?.text ?? "?")")
            Terminal.line("\(c["packets"]?.text ?? "0") packets, \(c["bytes"]?.text ?? "0") bytes so far")
        }
    }

    /// POST or DELETE /v1/capture, and the recording described for people.
    static func change(_ daemon: DaemonOptions, _ method: String, body: JSONValue?) throws {
        let pumpd = daemon.pumpd
        let response = try Pumpd.call { () throws(ClientError) in
            try pumpd.client.request(method, "/v1/capture", body: body.map { Array($0.serialized.utf8) })
        }
        let answer = try pumpd.check(response)
        if daemon.json {
            pumpd.printVerbatim(response)
            return
        }
        let c = answer.body["capture"]
        let recording = c?["recording"] == .bool(true)
        Terminal.line("\(recording ? "recording to" : "stopped:") \(c?["path"]?.text ?? "?")")
        if !recording { Terminal.line("\(c?["packets"]?.text ?? "0") packets, \(c?["bytes"]?.text ?? "0") bytes") }
        if let f = c?["failure"]?.text { Terminal.error("the recording stopped early: \(f)") }
        if let id = answer.body["command_id"]?.text { Terminal.line("audited as command \(id)") }
    }
}
