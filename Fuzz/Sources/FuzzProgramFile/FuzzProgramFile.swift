import API
import JSON
import Messages
import ProgramFiles

/// Program files, JSON or YAML, as `pumpctl program push|review FILE` reads
/// them (`ProgramText.program`), then as pumpd reads the body it is sent
/// (`ProgramJSON.parse`). The first input byte picks JSON (even) or YAML
/// (odd); the rest is the file, decoded as UTF-8 as a file would be. Beyond
/// "no crash" (and no blow-up: aliases are refused before anything expands)
/// it checks:
///
/// - A JSON text read both ways gives the same value when both accept it
///   (JSON is YAML's flow style; pumpctl chooses by the file's name).
/// - A program pumpd accepts, rendered as pumpd answers it and read back as
///   a file, is the same program: `program show --json > f; program push f`.
/// - A refused body is a 400 that names a field or the body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProgramFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let yaml = data[0] & 1 == 1
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    guard let value = try? ProgramText.program(text, yaml: yaml) else { return 0 }
    if !yaml, let other = try? ProgramText.program(text, yaml: true) {
        require(other == value, "JSON and YAML read the same text differently: \(value.serialized) vs \(other.serialized)")
    }
    let record: ProgramRecord
    do throws(APIError) { record = try ProgramJSON.parse(value) } catch {
        require(error.status == 400 && !error.message.isEmpty, "a program file's body refused with \(error.status): \(error)")
        return 0
    }
    let shown = JSONValue.object(["program": ProgramJSON.render(record)]).serialized
    guard let again = try? ProgramText.program(shown, yaml: false), let back = try? ProgramJSON.parse(again) else {
        fatalError("pumpd's own rendering of a program is refused as a program file: \(shown)")
    }
    require(back == record, "a program changes through show and push: \(shown)")
    return 0
}

/// `precondition` that says why in a release build too.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
