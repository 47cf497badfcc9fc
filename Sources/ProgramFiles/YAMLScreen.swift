// CYaml is the libyaml that Yams builds and uses; it is not a product of the
// Yams package, but its module is visible to Yams's dependents. Reading its
// event stream is the only way to see an alias before Yams composes the tree.
import CYaml

/// A look at a YAML text's events before anything is built from them.
///
/// Yams composes a document by resolving each alias (*name) to the node its
/// anchor (&name) marks. Nine anchors of ten aliases each ("billion laughs")
/// then stand for 10⁹ nodes: converting them, or hashing one used as a key,
/// took pumpctl to 1 GB. A program file needs neither anchors nor aliases,
/// so they are refused here, on the events, in time linear in the text, as
/// are documents nested or sized beyond any program (Yams composes
/// recursively, so depth would also cost stack), and mapping keys that are
/// not plain names: Yams checks a mapping's keys for duplicates by sorting
/// them, and comparing two mapping keys sorts their own keys again, so keys
/// of keys nested twenty deep took FuzzProgramFile past its time limit.
enum YAMLScreen {
    /// A program is four levels deep; JSON input is cut at 64.
    static let maxDepth = 32
    /// A program of the ICD's 48 steps is a few hundred nodes.
    static let maxNodes = 10_000

    /// nil when the text may be composed; otherwise why not, with its line.
    static func problem(_ text: String) -> String? {
        var bytes = Array(text.utf8)
        if let problem = foreignLineBreak(bytes) { return problem }
        // libyaml asserts its input is not NULL, which an empty array's buffer may be.
        guard !bytes.isEmpty else { return nil }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return "cannot start the YAML reader (out of memory)" }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeMutableBufferPointer { buffer -> String? in
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var depth = 0
            var nodes = 0
            // One entry per open collection: for a mapping, whether its next node is a key.
            var open: [Bool?] = []
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "unreadable"
                    return "not valid YAML: line \(Int(parser.problem_mark.line) + 1): \(problem)"
                }
                defer { yaml_event_delete(&event) }
                let line = "line \(Int(event.start_mark.line) + 1)"
                let anchor: UnsafeMutablePointer<yaml_char_t>?
                let startsNode = [YAML_SCALAR_EVENT, YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT].contains(event.type)
                if startsNode, let nextIsKey = open.last ?? nil {
                    if nextIsKey && event.type != YAML_SCALAR_EVENT {
                        return "\(line): a mapping key is a list or a mapping; keys must be plain names, such as mode or start_min"
                    }
                    open[open.count - 1] = !nextIsKey
                }
                switch event.type {
                case YAML_ALIAS_EVENT:
                    return "\(line): YAML aliases (*name) are not accepted; write the value out"
                case YAML_SCALAR_EVENT:
                    anchor = event.data.scalar.anchor
                    nodes += 1
                case YAML_SEQUENCE_START_EVENT:
                    anchor = event.data.sequence_start.anchor
                    nodes += 1
                    depth += 1
                    open.append(nil)
                case YAML_MAPPING_START_EVENT:
                    anchor = event.data.mapping_start.anchor
                    nodes += 1
                    depth += 1
                    open.append(true)
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    anchor = nil
                    depth -= 1
                    _ = open.popLast()
                case YAML_STREAM_END_EVENT:
                    return nil
                default:
                    anchor = nil
                }
                if anchor != nil {
                    return "\(line): YAML anchors (&name) and aliases (*name) are not accepted; write each value out"
                }
                if depth > maxDepth { return "\(line): nested deeper than \(maxDepth) levels, which no program is" }
                if nodes > maxNodes { return "\(line): more than \(maxNodes) values, which no program has" }
            }
        }
    }

    /// libyaml reads YAML 1.1, where NEL, LINE SEPARATOR and PARAGRAPH
    /// SEPARATOR break lines: inside a quoted string it folds one into a
    /// space, so `"04\u{85}:"` reads as "04 :" while JSON (and YAML 1.2) keep
    /// the character. The same file would mean two things depending on its
    /// name (found by FuzzProgramFile). No program needs them: refused.
    static func foreignLineBreak(_ bytes: [UInt8]) -> String? {
        var line = 1
        var i = 0
        while i < bytes.count {
            let name: String?
            switch bytes[i] {
            case 0x0A:
                line += 1
                name = nil
            case 0xC2 where i + 1 < bytes.count && bytes[i + 1] == 0x85:
                name = "U+0085 (NEXT LINE)"
            case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                name = bytes[i + 2] == 0xA8 ? "U+2028 (LINE SEPARATOR)" : "U+2029 (PARAGRAPH SEPARATOR)"
            default:
                name = nil
            }
            if let name {
                return "line \(line): \(name) is a line break to YAML 1.1 but a character to JSON, so the file's meaning would depend on its name; remove it (a program needs none)"
            }
            i += 1
        }
        return nil
    }
}
