import Credentials
import Wire

/// Key files (`--key-file`): arbitrary bytes as the file's contents, read by
/// `KeyFile.parse`. Beyond "no crash" it checks the parser against a model
/// that shares none of its code: a key file is one run of exactly 64 hex
/// digits with nothing around it but spaces, tabs and line breaks; any other
/// content is refused, and never guessed at.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeyFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let accepted = (try? KeyFile.parse(bytes, path: "fuzz.key")) != nil
    require(accepted == model(bytes), "KeyFile.parse says \(accepted) for \(Hex.encode(Array(bytes.prefix(96))))")
    // The text form, as a config's caller may have it, agrees with the bytes.
    if let text = String(validating: bytes, as: UTF8.self) {
        require(((try? KeyFile.parse(text, path: "fuzz.key")) != nil) == accepted, "text and bytes disagree")
    }
    return 0
}

func model(_ bytes: [UInt8]) -> Bool {
    let isBlank = { (b: UInt8) in b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    let isHex = { (b: UInt8) in (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) }
    var i = 0
    while i < bytes.count, isBlank(bytes[i]) { i += 1 }
    var digits = 0
    while i < bytes.count, !isBlank(bytes[i]) {
        guard isHex(bytes[i]) else { return false }
        digits += 1
        i += 1
    }
    while i < bytes.count, isBlank(bytes[i]) { i += 1 }
    return i == bytes.count && digits == 64
}

/// `precondition` that says why in a release build too.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
