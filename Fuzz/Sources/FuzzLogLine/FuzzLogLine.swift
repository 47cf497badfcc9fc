import LogText

/// pumpctl's side of `GET /v1/logs`: any line, as pumpd's stream delivers it
/// (or anything else a reader might be handed), made readable by `LogLine`
/// for a terminal, in each of its modes. Beyond "no crash" it checks:
///
/// - No control character reaches the terminal: without colour the line
///   holds no C0 or C1 control, DEL, ESC, bidirectional override or
///   isolate, or line or paragraph separator; with colour, none but the
///   SGR sequences `LogLine` writes itself.
/// - The line is one line, whatever the input held.
///
/// The first byte picks the zone's offset (out-of-range offsets included,
/// which `LogTime` must take as UTC); the rest is the line.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let offset = (Int(Int8(bitPattern: data[0])) * 15 * 60) * (data[0] & 1 == 0 ? 1 : 30)
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let zone: LogTime.Zone = { _ in offset }
    for colour in [false, true] {
        for showsTime in [true, false] {
            let line = LogLine(colour: colour, showsTime: showsTime, zone: zone).render(text)
            let bare = colour ? withoutOwnColours(line) : line
            for s in bare.unicodeScalars {
                require(!forbidden(s), "U+\(String(s.value, radix: 16)) reached the terminal in \(line.debugDescription)")
            }
        }
    }
    return 0
}

/// What must never be written to a terminal as itself.
func forbidden(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x00..<0x20, 0x7F, 0x80...0x9F: true
    case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029, 0x061C: true
    default: false
    }
}

/// The line without the SGR sequences LogLine paints levels with (ESC [ digits
/// and semicolons m); any other ESC is left in, to be caught.
func withoutOwnColours(_ line: String) -> String {
    var out = String.UnicodeScalarView()
    let scalars = Array(line.unicodeScalars)
    var i = 0
    while i < scalars.count {
        if scalars[i] == "\u{1B}", i + 1 < scalars.count, scalars[i + 1] == "[" {
            var j = i + 2
            while j < scalars.count, scalars[j] == ";" || ("0"..."9").contains(scalars[j]) { j += 1 }
            if j < scalars.count, scalars[j] == "m" {
                i = j + 1
                continue
            }
        }
        out.append(scalars[i])
        i += 1
    }
    return String(out)
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
