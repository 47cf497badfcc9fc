import Simulator
import Wire

/// Faults a test asks for through the control socket: requests lost on the
/// way in (never executed), responses lost on the way out (after executing
/// the request), flipped bits, and line noise.
struct Faults {
    var dropRequests = 0
    var dropResponses = 0
    var corruptNext = 0
    var random: SimRandom

    /// Passes one outgoing frame's wire bytes through the faults; nil if dropped.
    mutating func apply(_ wire: [UInt8]) -> [UInt8]? {
        if dropResponses > 0, Self.isResponse(wire) {
            dropResponses -= 1
            Log.info("fault: dropped a response", ["remaining": "\(dropResponses)"])
            return nil
        }
        guard corruptNext > 0, wire.count > 1 else { return wire }
        corruptNext -= 1
        var out = wire
        // Flip one bit of the encoded frame (never the delimiter), and never
        // into a 0x00, which would split the frame instead of corrupting it.
        while true {
            let i = Int(random.next() % UInt64(out.count - 1))
            let bit = UInt8(1) << UInt8(random.next() % 8)
            if out[i] ^ bit != 0 {
                out[i] ^= bit
                break
            }
        }
        Log.info("fault: corrupted a frame", ["remaining": "\(corruptNext)"])
        return out
    }

    /// Whether a received frame is lost before the device sees it.
    mutating func dropsRequest() -> Bool {
        guard dropRequests > 0 else { return false }
        dropRequests -= 1
        Log.info("fault: dropped a request", ["remaining": "\(dropRequests)"])
        return true
    }

    static func isResponse(_ wire: [UInt8]) -> Bool {
        guard let body = COBS.decode(Array(wire.dropLast())), body.count > 1 else { return false }
        return body[1] == FrameKind.response.rawValue
    }
}
