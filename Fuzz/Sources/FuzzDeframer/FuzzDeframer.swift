import Dissector
import Wire

/// Feeds arbitrary bytes to the deframer, cut into pieces whose sizes come
/// from the input itself, and checks what must hold for any stream:
/// no crash, bounded memory, the same result however the stream is cut, and
/// every frame it yields re-encodes to a body that parses to the same frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeframer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let stream = Array(bytes.dropFirst())

    var whole = Deframer(receiver: .any)
    let reference = whole.feed(stream)

    var pieces = Deframer(receiver: .any)
    var cut: [Deframed] = []
    let step = Int(first % 17) + 1
    var i = 0
    while i < stream.count {
        cut += pieces.feed(stream[i..<min(stream.count, i + step)])
        precondition(pieces.pendingCount < BodyLayout.maxChunk, "deframer buffer grew past the oversize limit")
        i += step
    }
    precondition(cut == reference, "deframer output depends on chunking")

    for case .frame(let f) in reference {
        precondition((try? Frame.parse(body: f.encodeBody())) == f, "frame does not round-trip")
    }

    // The dissector on the same bytes, with and without a key.
    var plain = LinkInspector(pairingKey: nil)
    var keyed = LinkInspector(pairingKey: .test)
    for r in plain.feed(stream) + keyed.feed(stream) { _ = r.json.serialized }
    return 0
}
