import Synchronization

/// Open streams (`/v1/events/stream`, `/v1/logs/stream`), in all and per uid.
/// A stream holds a descriptor, a task and a reader of the mirror for as long
/// as its client keeps it; without a bound, one uid opening thousands of
/// streams that never read locked every other client out. Over the bound a
/// stream is refused at once: 429 for a uid over its share, 503 when all
/// slots are taken, both with Retry-After.
final class StreamSlots: Sendable {
    let total: Int
    let perUID: Int
    private let state = Mutex(Counts())

    struct Counts {
        var open = 0
        var byUID: [UInt32: Int] = [:]
    }

    init(total: Int, perUID: Int) {
        self.total = total
        self.perUID = perUID
    }

    /// At most 256 streams in all (a quarter of the connections the
    /// descriptor limit allows, if that is fewer) and 32 per uid.
    static func forDescriptorLimit() -> StreamSlots {
        let capacity = ConnectionBudget.Shares(descriptorLimit: ConnectionBudget.descriptorLimit()).capacity
        return StreamSlots(total: max(4, min(256, capacity / 4)), perUID: max(2, min(32, capacity / 16)))
    }

    /// A taken slot; released when the stream (and with it this) goes away,
    /// however it ends, even if its body never ran.
    final class Slot: Sendable {
        let slots: StreamSlots
        let uid: UInt32?
        init(_ slots: StreamSlots, uid: UInt32?) {
            self.slots = slots
            self.uid = uid
        }
        deinit { slots.release(uid) }
    }

    static let retryAfterSeconds = 10

    func take(uid: UInt32?) throws(ServiceRefusal) -> Slot {
        let refusal = state.withLock { c -> ServiceRefusal? in
            if let uid, c.byUID[uid, default: 0] >= perUID {
                return ServiceRefusal(
                    status: 429, code: .tooManyStreams,
                    message: "uid \(uid) already has \(perUID) streams open, the most one uid may; close one (or follow both logs and events from one client) and try again",
                    retryAfterSeconds: Self.retryAfterSeconds)
            }
            if c.open >= total {
                return ServiceRefusal(
                    status: 503, code: .tooManyStreams,
                    message: "pumpd already serves \(total) streams, the most it keeps open; try again later, or read /v1/events and /v1/logs by page",
                    retryAfterSeconds: Self.retryAfterSeconds)
            }
            c.open += 1
            if let uid { c.byUID[uid, default: 0] += 1 }
            return nil
        }
        if let refusal { throw refusal }
        return Slot(self, uid: uid)
    }

    private func release(_ uid: UInt32?) {
        state.withLock { c in
            c.open -= 1
            if let uid, let n = c.byUID[uid] { c.byUID[uid] = n > 1 ? n - 1 : nil }
        }
    }

    var openCount: Int { state.withLock { $0.open } }
}
