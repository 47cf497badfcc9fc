import Simulator
import Wire

/// Faults a test asks for through the control socket: requests lost on the
/// way in (never executed), responses lost on the way out (after executing
/// the request), flipped bits, and line noise.
struct Faults {
    var dropRequests = 0
    var dropResponses = 0
    /// When set, the drops above apply only to frames with this opcode, so a
    /// test can lose a bolus's answers without losing the status read before it.
    var dropOpcode: UInt8?
    var corruptNext = 0
    var random: SimRandom

    /// Passes one outgoing frame's wire bytes through the faults; nil if dropped.
    mutating func apply(_ wire: [UInt8]) -> [UInt8]? {
        if dropResponses > 0, Self.isResponse(wire), dropOpcode.map({ Self.opcode(wire) == $0 }) ?? true {
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
    mutating func dropsRequest(opcode: UInt8) -> Bool {
        guard dropRequests > 0, dropOpcode.map({ opcode == $0 }) ?? true else { return false }
        dropRequests -= 1
        Log.info("fault: dropped a request", ["remaining": "\(dropRequests)"])
        return true
    }

    static func opcode(_ wire: [UInt8]) -> UInt8? {
        guard let body = COBS.decode(Array(wire.dropLast())), body.count > 4 else { return nil }
        return body[4]
    }

    static func isResponse(_ wire: [UInt8]) -> Bool {
        guard let body = COBS.decode(Array(wire.dropLast())), body.count > 1 else { return false }
        return body[1] == FrameKind.response.rawValue
    }
}
