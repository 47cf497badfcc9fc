import JSON
import Yams

/// A program file's text, JSON or YAML, as the API's program JSON. Pure: no
/// file I/O, so `pumpctl` and the fuzzer run the same code.
///
/// YAML is read to the same shape, with one rule of its own: a quantity's
/// value must be a quoted string ("2.4"), because YAML reads 2.4 as a binary
/// float and a dose must never pass through one.
///
///     mode: daily
///     steps:
///       - start_min: 0
///         rate: {value: "2.4", unit: mg/day}
///
/// The output of `pumpctl program show --json` (`{"program": {...}}`) is
/// accepted too, so a program can be fetched, edited and pushed back; its
/// program_crc is left out, pumpd computes it.
public enum ProgramText {
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The program a file's text holds, ready to send.
    public static func program(_ text: String, yaml: Bool) throws(Problem) -> JSONValue {
        let program = unwrap(try parse(text, yaml: yaml))
        if program["overrides"] != nil {
            // An override answers a limit seen in a review, so it is given then, not kept in advance.
            throw Problem(description: "overrides: a program file holds the program only; pass a soft limit with --override RULE --reason TEXT, after a review shows it")
        }
        return program
    }

    /// YAML unless the name says JSON, or, with no telling name, unless the text starts with "{".
    public static func isYAML(path: String, text: String) -> Bool {
        let lower = path.lowercased()
        if lower.hasSuffix(".json") { return false }
        if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") { return true }
        return text.utf8.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) } != UInt8(ascii: "{")
    }

    public static func parse(_ text: String, yaml: Bool) throws(Problem) -> JSONValue {
        guard yaml else {
            do {
                return try JSONValue.parse(text)
            } catch {
                throw Problem(description: "\(error); quantities are decimal strings with a unit, such as {\"value\": \"2.4\", \"unit\": \"mg/day\"}")
            }
        }
        // Anchors, aliases, depth and size are judged on the events, before Yams builds anything.
        if let problem = YAMLScreen.problem(text) { throw Problem(description: problem) }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw Problem(description: "not valid YAML: \(error)")
        }
        guard let node else { throw Problem(description: "the file is empty") }
        return try json(node, path: "", key: nil)
    }

    /// `{"program": P}` (what `program show --json` prints) is P; a program's
    /// own program_crc is dropped, since pumpd computes it and refuses the field.
    public static func unwrap(_ v: JSONValue) -> JSONValue {
        var v = v
        if case .object(let o) = v, o.keys == ["program"], let inner = o["program"] { v = inner }
        if case .object(var o) = v, o["program_crc"] != nil {
            o["program_crc"] = nil
            v = .object(o)
        }
        return v
    }

    static func json(_ node: Node, path: String, key: String?) throws(Problem) -> JSONValue {
        let place = path.isEmpty ? "the document" : path
        let line = node.mark.map { " (line \($0.line))" } ?? ""
        switch node {
        case .mapping(let mapping):
            var o = JSONObject()
            for (k, v) in mapping {
                guard case .scalar(let ks) = k else { throw Problem(description: "\(place)\(line): keys must be plain names") }
                guard o[ks.string] == nil else { throw Problem(description: "\(place)\(line): the key \(ks.string) appears twice") }
                o[ks.string] = try json(v, path: path.isEmpty ? ks.string : "\(path).\(ks.string)", key: ks.string)
            }
            return .object(o)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (i, item) in sequence.enumerated() { items.append(try json(item, path: "\(path)[\(i)]", key: nil)) }
            return .array(items)
        case .alias:
            throw Problem(description: "\(place)\(line): YAML aliases (*name) are not accepted; write the value out")
        case .scalar(let scalar):
            let tag = Tag.Name(rawValue: node.tag.rawValue)
            if key == "value" && tag != .str {
                throw Problem(description: "\(place)\(line): \(scalar.string) is a YAML number; values must be quoted decimal strings, such as value: \"\(scalar.string)\"")
            }
            switch tag {
            case .str: return .string(scalar.string)
            case .null: return .null
            case .bool:
                guard let b = node.bool else { throw Problem(description: "\(place)\(line): write \(scalar.string) as true or false") }
                return .bool(b)
            case .int:
                guard let i = Int64(scalar.string) else {
                    throw Problem(description: "\(place)\(line): write \(scalar.string) as a plain decimal whole number")
                }
                return .int(i)
            case .float:
                throw Problem(description: "\(place)\(line): \(scalar.string) is a YAML float; fields take whole numbers, and quantities' values must be quoted decimal strings, such as \"2.4\"")
            default:
                throw Problem(description: "\(place)\(line): \(scalar.string) is a YAML \(tag.rawValue.split(separator: ":").last ?? ""), which a program does not take; quote it if it is text")
            }
        }
    }
}
