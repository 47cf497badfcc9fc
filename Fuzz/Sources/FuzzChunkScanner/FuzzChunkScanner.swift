import DaemonInput

/// pumpd's socket, ahead of NIO's HTTP decoder: the raw bytes of a
/// connection, read by `ChunkSizeScanner`, which spots a chunked body larger
/// than the limit as soon as its size line says so. Beyond "no crash" it
/// checks that the verdict does not depend on how the bytes arrive: fed
/// whole, and in pieces of 1…31 bytes (the first input byte), the scanner
/// refuses at the same byte of the stream, or not at all. The limit is 1 MiB
/// (pumpd's) or, from the second input byte, a small one, so that refusals
/// are reached often.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChunkScanner(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let step = Int(data[0] % 31) + 1
    let limit: UInt64 = data[1] & 1 == 1 ? 1 << 20 : UInt64(data[1])
    let stream = UnsafeRawBufferPointer(start: data + 2, count: size - 2)

    var whole = ChunkSizeScanner(limit: limit)
    let all = whole.feed(stream)
    var pieces = ChunkSizeScanner(limit: limit)
    var verdict = ChunkSizeScanner.Verdict.fine
    var i = 0
    while i < stream.count {
        let end = min(stream.count, i + step)
        if case .tooLarge(let at) = pieces.feed(UnsafeRawBufferPointer(rebasing: stream[i..<end])) {
            verdict = .tooLarge(offset: i + at)
            break
        }
        i = end
    }
    require(all == verdict, "the verdict depends on the cuts: \(all) whole, \(verdict) in pieces of \(step)")
    return 0
}

/// `precondition` that says why in a release build too.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
