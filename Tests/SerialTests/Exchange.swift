import Serial
import Testing

/// Reads from `port` until `count` bytes came, each read waiting up to a second.
func readAll(_ port: any SerialPort, count: Int) throws -> [UInt8] {
    var got: [UInt8] = []
    var quiet = 0
    while got.count < count {
        let event = try port.read(appendingTo: &got, maxCount: count - got.count, timeout: .seconds(1))
        switch event {
        case .bytes: quiet = 0
        case .timeout:
            quiet += 1
            if quiet == 5 { return got }
        case .vanished: return got
        }
    }
    return got
}

/// Bytes both ways between a port and the device side of its pty.
func expectRoundTrip(_ port: any SerialPort, _ pty: Pty, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try pty.send(allByteValues)
    #expect(try readAll(port, count: allByteValues.count) == allByteValues, "device → host", sourceLocation: sourceLocation)
    try port.write(allByteValues)
    #expect(pty.receive(allByteValues.count) == allByteValues, "host → device", sourceLocation: sourceLocation)
}
