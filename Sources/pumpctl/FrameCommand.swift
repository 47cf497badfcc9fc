import ArgumentParser
import Credentials
import Dissector
import JSON
import Wire

struct FrameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frame",
        abstract: "Decode and encode PPL/1 wire frames, for debugging a link.",
        discussion: """
            A PPL/1 frame on the wire is COBS(body) followed by 0x00. `decode` reads bytes \
            (many frames and noise mixed) and prints one JSON object per frame or bad chunk; \
            `encode` reads such objects and prints the wire bytes. Together they let you look \
            at what crossed a link and replay or craft frames:

              pumpctl frame decode 040101010202010115d9265e98bd7b3db428e8564cea94b846eac6a53300
              pumpctl frame decode --key-file pairing.key < link.bin
              pumpctl frame decode --key-file k < a.bin | pumpctl frame encode --key-file k --raw > b.bin
            """,
        subcommands: [Decode.self, Encode.self]
    )
}

/// Loads a key file for a tool: an exposed file is used, with a warning.
func loadToolKey(_ path: String?) throws -> PairingKey? {
    guard let path else { return nil }
    do {
        let (key, warning) = try KeyFile.load(path, permissions: .warn)
        if let warning { Terminal.error("warning: \(warning)") }
        return key
    } catch let problem {
        Terminal.error(problem.description)
        if case .unreadable = problem { throw Exit.noInput }
        throw Exit.config
    }
}

extension FrameCommand {
    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every frame or bad chunk in a byte stream as one JSON object per line.",
            discussion: """
                Input is hex on the command line (spaces and colons allowed), or raw bytes on \
                standard input, read as they arrive; `--hex-stdin` reads hex text from standard \
                input instead. The stream may hold frames of both directions and noise.

                Each line has exactly these keys:
                  kind     "request", "response", "event", or null for a bad chunk
                  seq      the sequence number (events: low 16 bits of the event index)
                  opcode   the ICD name ("GET_STATUS"; on events the event name, "BOLUS_STARTED"),
                           or the number when the ICD names none
                  status   the status name in responses ("OK", "BAD_SEQ"); the number in requests and events
                  len      payload length in bytes
                  payload  the payload's fields, ICD names in snake_case; {"raw": HEX} when the
                           payload's length does not fit its opcode
                  error    null, or why the chunk is no usable frame: cobs, short, crc, oversize
                           (1,100 bytes without a delimiter), version, length, kind, mac

                A bad chunk has null fields, except a malformed body (version, length, kind) whose \
                CRC matched: it shows seq, opcode, status and len as read from its header. A \
                frame whose mac fails shows its fields with error "mac".

                With --key-file (64 hex digits: the pairing key) macs are checked. Session keys \
                are derived from the HELLO exchanges in the input, so give a stream that starts \
                with a HELLO; frames before the first verified HELLO answer fail with "mac". \
                Without a key, macs are not checked and error is never "mac".
                """
        )

        @Argument(help: "Wire bytes as hex. Omit to read raw bytes from standard input.")
        var hex: [String] = []

        @Option(name: .long, help: ArgumentHelp("Pairing-key file (64 hex digits); checks macs.", valueName: "file"))
        var keyFile: String?

        @Flag(name: .long, help: "Read hex text, not raw bytes, from standard input.")
        var hexStdin = false

        func run() throws {
            var inspector = LinkInspector(pairingKey: try loadToolKey(keyFile))
            func emit(_ r: FrameReport) { Terminal.line(r.json.serialized) }

            if !hex.isEmpty || hexStdin {
                let text = hex.isEmpty ? String(decoding: Terminal.readAllStandardInput(), as: UTF8.self) : hex.joined()
                guard let bytes = Hex.decode(text) else {
                    Terminal.error("the input is not hex: use pairs of digits 0-9a-f (spaces and ':' may separate bytes)")
                    throw Exit.dataError
                }
                for r in inspector.feed(bytes) { emit(r) }
            } else {
                Terminal.readStandardInput { chunk in inspector.feed(chunk, emit) }
            }
            if inspector.pendingCount > 0 {
                Terminal.error("note: \(inspector.pendingCount) bytes after the last 0x00 delimiter were not decoded (an incomplete frame)")
            }
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build wire bytes from JSON frame descriptions (the output of `frame decode`).",
            discussion: """
                Input is one JSON object per line (or a single object as the argument), with the \
                keys `frame decode` prints: kind, seq, opcode, status, payload; len is checked \
                when given; error must be null. Opcode and status take ICD names or numbers. A \
                payload is its fields in snake_case, or {"raw": HEX} for any bytes at all. Field \
                widths are enforced; the ICD's ranges are not, so you can craft the requests a \
                device must refuse. An unknown key is an error, never a silent zero.

                Output is the wire bytes (COBS and the 0x00 delimiter) as one hex line per \
                frame, or raw bytes with --raw. Nothing is written unless every line encodes.

                Macs: with --key-file, frames are sealed with the session key of the HELLO \
                exchange before them in the input (or of --host-nonce/--device-nonce). A \
                HELLO request, and AUTH_FAILED, NO_SESSION, BAD_FRAME and a HELLO's error \
                answers get a zero mac, as the ICD says; "authenticated": false forces one. \
                Without a key every mac is zero.
                """
        )

        @Argument(help: "One JSON frame object. Omit to read JSON lines from standard input.")
        var json: String?

        @Option(name: .long, help: ArgumentHelp("Pairing-key file (64 hex digits); seals macs.", valueName: "file"))
        var keyFile: String?

        @Option(name: .long, help: ArgumentHelp("Host nonce (32 hex digits) of the session to seal with.", valueName: "hex"))
        var hostNonce: String?

        @Option(name: .long, help: ArgumentHelp("Device nonce (32 hex digits) of the session to seal with.", valueName: "hex"))
        var deviceNonce: String?

        @Flag(name: .long, help: "Write raw wire bytes instead of hex lines.")
        var raw = false

        func validate() throws {
            if (hostNonce == nil) != (deviceNonce == nil) {
                throw ValidationError("--host-nonce and --device-nonce go together.")
            }
            if hostNonce != nil && keyFile == nil {
                throw ValidationError("--host-nonce and --device-nonce need --key-file to derive the session key.")
            }
            for n in [hostNonce, deviceNonce].compactMap({ $0 }) where Hex.decode(n)?.count != 16 {
                throw ValidationError("a nonce is 16 bytes: 32 hex digits; got \"\(n)\".")
            }
        }

        func run() throws {
            let key = try loadToolKey(keyFile)
            var session: SessionKey?
            if let key, let h = hostNonce.flatMap({ Hex.decode($0) }).flatMap(Nonce.init(bytes:)),
                let d = deviceNonce.flatMap({ Hex.decode($0) }).flatMap(Nonce.init(bytes:))
            {
                session = SessionKey(pairing: key, hostNonce: h, deviceNonce: d)
            }
            if key == nil { Terminal.error("note: no --key-file, so every frame gets a zero (unauthenticated) mac") }
            var builder = FrameBuilder(pairingKey: key, sessionKey: session)

            let lines: [Substring]
            if let json {
                lines = [Substring(json)]
            } else {
                lines = String(decoding: Terminal.readAllStandardInput(), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            }
            var out: [[UInt8]] = []
            for (number, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
                let whereAt = json == nil ? "line \(number + 1)" : "the argument"
                do {
                    let value = try JSONValue.parse(String(line))
                    out.append(try builder.build(value).encodeWire())
                } catch let e as JSONParseError {
                    Terminal.error("\(whereAt): \(e)")
                    throw Exit.dataError
                } catch let e as BuildError {
                    Terminal.error("\(whereAt): \(e)")
                    throw Exit.dataError
                }
            }
            for wire in out {
                if raw { Terminal.write(wire) } else { Terminal.line(Hex.encode(wire)) }
            }
        }
    }
}
