import Dissector
import JSON
import Wire

/// Feeds arbitrary bytes to the deframer, cut into pieces whose sizes come
/// from the input itself, and checks what must hold for any stream:
/// no crash, bounded memory, the same result however the stream is cut, and
/// every frame it yields re-encodes to a body that parses to the same frame.
///
/// Bytes go in through `feed(UnsafeRawBufferPointer:)`, the path `LinkMachine`
/// and `CaptureDecoder` use, straight from libFuzzer's buffer: no copies, so
/// the time goes to the code under test.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeframer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let step = Int(data[0] % 17) + 1
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)

    var whole = Deframer(receiver: .any)
    var reference: [Deframed] = []
    whole.feed(stream) { reference.append($0) }

    var pieces = Deframer(receiver: .any)
    var cut: [Deframed] = []
    cut.reserveCapacity(reference.count)
    var i = 0
    while i < stream.count {
        pieces.feed(UnsafeRawBufferPointer(rebasing: stream[i..<min(stream.count, i + step)])) { cut.append($0) }
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
    plain.feed(stream) { _ = $0.json.serialized }
    keyed.feed(stream) { _ = $0.json.serialized }
    return 0
}
