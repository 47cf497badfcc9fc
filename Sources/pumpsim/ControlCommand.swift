import JSON
import Messages
import Wire

/// One command of the control socket, its value checked. Pure: a line
/// becomes commands here, and `ControlCommands.swift` carries them out.
enum ControlCommand: Equatable {
    case telemetry(Bool)
    case dropRequests(Int)
    case dropResponses(Int)
    /// nil lifts the limit.
    case dropOnly(UInt8?)
    case corruptNext(Int)
    case noise([UInt8])
    case unplug(ms: Int64)
    case stall(Bool)
    case busy(Int)
    case advance(ms: Int64)
    case patientBolus
    case raiseAlarm(AlarmBit)
    case clearAlarm(AlarmBit)
    /// Another implant under the head: its serial, checked against ICD §6.
    case implantSerial(String)
    case state

    /// The keys, in the order `pumpsim --help` lists them, with what each takes.
    static let keys: [(name: String, takes: String)] = [
        ("telemetry", "true or false"),
        ("drop_requests", "a count 0…1000000"),
        ("drop_responses", "a count 0…1000000"),
        ("drop_only", "an opcode name such as \"START_BOLUS\", or \"\" for all opcodes"),
        ("corrupt_next", "a count 0…1000000"),
        ("noise", "a hex string of bytes, e.g. \"ff00\""),
        ("unplug", "seconds 0…1000000, at most 3 decimals (e.g. 1.5)"),
        ("stall", "true or false"),
        ("busy", "a count 0…1000000"),
        ("advance_s", "seconds 0…316000000 (ten years), at most 3 decimals (e.g. 0.5)"),
        ("patient_bolus", "true"),
        ("raise_alarm", "an alarm bit 0…6"),
        ("clear_alarm", "an alarm bit 0…6"),
        ("implant_serial", "a serial of 1…12 printable ASCII characters (ICD §6), e.g. \"IP40-SECOND\""),
        ("state", "true"),
    ]

    /// What a replay offers; the others need a simulated pump.
    static let replayKeys: Set<String> = ["unplug", "state"]

    static var knownKeys: String { keys.map(\.name).joined(separator: ", ") }

    /// Why a line was refused: the message for the answer's `error`, and the
    /// keys it names (empty when the line as a whole is wrong).
    struct Refusal: Error, Equatable {
        var message: String
        var keys: [String] = []
    }

    /// A line's commands in the order of its keys, or why it is refused. Every
    /// key is checked before any is applied: one bad key refuses the line.
    static func parse(_ line: String, replay: Bool) -> Result<[(key: String, command: ControlCommand)], Refusal> {
        let example = #"e.g. {"state":true} or {"drop_responses":1,"corrupt_next":1}"#
        let json: JSONValue
        do {
            json = try JSONValue.parse(line, keepingFractions: true)
        } catch {
            return .failure(Refusal(message: "not JSON (\(error)); send one JSON object per line, \(example)"))
        }
        guard case .object(let object) = json else {
            return .failure(Refusal(message: "send one JSON object per line, \(example); got \(kind(of: json))"))
        }
        guard !object.keys.isEmpty else {
            return .failure(Refusal(message: "the object names no command; known commands: \(knownKeys)"))
        }
        var commands: [(key: String, command: ControlCommand)] = []
        var problems: [String] = []
        var refused: [String] = []
        for key in object.keys {
            guard let value = object[key] else { continue }
            switch command(key, value, replay: replay) {
            case .success(let c): commands.append((key, c))
            case .failure(let why):
                problems.append(why.sentence)
                refused.append(key)
            }
        }
        guard problems.isEmpty else {
            var message = problems.joined(separator: "; ")
            if object.keys.count > 1 { message += " (nothing was applied: a line is applied whole or not at all)" }
            return .failure(Refusal(message: message, keys: refused))
        }
        return .success(commands)
    }

    /// The sentence that refuses a key.
    struct Why: Error, Equatable {
        var sentence: String
    }

    /// One key and its value, or the sentence that refuses it.
    static func command(_ key: String, _ value: JSONValue, replay: Bool) -> Result<ControlCommand, Why> {
        guard let takes = keys.first(where: { $0.name == key })?.takes else {
            return .failure(Why(sentence: "unknown command \(quoted(key)); known commands: \(knownKeys)"))
        }
        if replay && !replayKeys.contains(key) {
            return .failure(Why(sentence: "\(key) is not available in replay mode (a recording has no pump to change); a replay takes \(replayKeys.sorted().joined(separator: " and "))"))
        }
        let refusal = "\(key) takes \(takes); got \(shown(value))"
        func refuse(_ detail: String? = nil) -> Result<ControlCommand, Why> {
            .failure(Why(sentence: refusal + (detail.map { " (\($0))" } ?? "")))
        }
        func count() -> Int? { if case .int(let n) = value, (0...1_000_000).contains(n) { Int(n) } else { nil } }
        func flag() -> Bool? { if case .bool(let b) = value { b } else { nil } }
        func bit() -> AlarmBit? { if case .int(let n) = value, let b = UInt16(exactly: n) { AlarmBit(rawValue: b) } else { nil } }
        func seconds(max: Int64, _ make: (Int64) -> ControlCommand) -> Result<ControlCommand, Why> {
            switch DecimalSeconds.milliseconds(value, maxSeconds: max) {
            case .success(let ms): .success(make(ms))
            case .failure(let problem): refuse(problem.phrase)
            }
        }
        let command: ControlCommand?
        switch key {
        case "telemetry": command = flag().map { .telemetry($0) }
        case "drop_requests": command = count().map { .dropRequests($0) }
        case "drop_responses": command = count().map { .dropResponses($0) }
        case "drop_only":
            guard case .string(let name) = value else { return refuse() }
            if name.isEmpty { return .success(.dropOnly(nil)) }
            guard let op = Opcode(name: name) else { return refuse("no such opcode in ICD §6") }
            command = .dropOnly(op.rawValue)
        case "corrupt_next": command = count().map { .corruptNext($0) }
        case "noise":
            guard case .string(let hex) = value else { return refuse() }
            guard let bytes = Hex.decode(hex) else { return refuse("not pairs of hex digits") }
            command = .noise(bytes)
        case "unplug": return seconds(max: 1_000_000) { .unplug(ms: $0) }
        case "stall": command = flag().map { .stall($0) }
        case "busy": command = count().map { .busy($0) }
        case "advance_s": return seconds(max: 316_000_000) { .advance(ms: $0) }
        case "patient_bolus": command = flag() == true ? .patientBolus : nil
        case "raise_alarm": command = bit().map { .raiseAlarm($0) }
        case "clear_alarm": command = bit().map { .clearAlarm($0) }
        case "implant_serial":
            guard case .string(let serial) = value else { return refuse() }
            if let problem = serialProblem(serial) { return refuse(problem) }
            // What HELLO will send must read back as this very text.
            command = SerialNumber(serial).text == serial ? .implantSerial(serial) : nil
        case "state": command = flag() == true ? .state : nil
        default: command = nil
        }
        guard let command else { return refuse() }
        return .success(command)
    }

    /// Why `text` cannot be an implant's serial, or nil: ICD §6 sends it as
    /// printable ASCII in 12 bytes padded with 0x00, and an implant has one.
    static func serialProblem(_ text: String) -> String? {
        if text.isEmpty { return "empty; an implant always has a serial" }
        let scalars = text.unicodeScalars.enumerated()
        if let bad = scalars.first(where: { UInt8(exactly: $0.element.value).map(SerialNumber.isPrintable) != true }) {
            let hex = String(bad.element.value, radix: 16, uppercase: true)
            return "character \(bad.offset + 1) is U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex), not printable ASCII 0x20…0x7E"
        }
        let length = text.utf8.count
        if length > SerialNumber.width { return "\(length) characters; the ICD's field holds \(SerialNumber.width)" }
        return nil
    }

    /// A value as JSON, cut at 64 bytes so that a huge value makes no huge answer.
    static func shown(_ value: JSONValue) -> String {
        let text = Array(value.serialized.utf8)
        guard text.count > 64 else { return String(decoding: text, as: UTF8.self) }
        return String(decoding: text.prefix(64), as: UTF8.self) + "… (\(text.count) bytes)"
    }

    static func quoted(_ key: String) -> String { shown(.string(key)) }

    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .decimal: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
