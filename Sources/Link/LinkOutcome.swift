import Messages
import Wire

/// Identifies a request submitted to the link, chosen by the caller (the
/// daemon uses its command ids) so that outcomes can be matched to records.
public typealias RequestID = UInt64

/// How a submitted request ended, as far as the link can tell.
public enum LinkOutcome: Sendable, Hashable {
    /// The device answered: OK or an error status, with the payload.
    case answered(StatusCode, ResponsePayload)
    /// Never executed: refused here before it went out, or refused by the
    /// device in a way that proves it was not accepted.
    case notSent(NotSentReason)
    /// A state-changing request whose answer never came: it may or may not
    /// have taken effect. A `LinkAction.reconciled` follows once the event log
    /// of a new session has been read.
    case uncertain(Attempt)
    /// A read-only request whose answer never came (nothing to reconcile).
    case noAnswer
}

public enum NotSentReason: Sendable, Hashable, CustomStringConvertible {
    /// Another state-changing request is unreconciled (the rule OmniKit learned):
    /// nothing else that changes the pump goes out until it is.
    case unreconciled(RequestID)
    /// There is no session with a trusted device.
    case linkDown
    /// The device kept answering BUSY.
    case busy
    /// The request failed its own checks (it would be BAD_PARAM or wrong on the wire).
    case invalid(PayloadError)
    /// The owner could not record the attempt durably before its first
    /// byte (see `LinkAction.sending`), so it was withdrawn unsent.
    case notRecorded
    /// The session's implant is not the one the request was meant for
    /// (another pump is under the programmer head): nothing was sent.
    case implantChanged(expected: SerialNumber, found: SerialNumber)

    public var description: String {
        switch self {
        case .unreconciled(let id): "request \(id) is unreconciled; nothing that changes the pump goes out until it is"
        case .linkDown: "no session with the device"
        case .busy: "the device kept answering BUSY"
        case .invalid(let e): "invalid request: \(e)"
        case .notRecorded: "the attempt could not be recorded before sending, so it was not sent"
        case .implantChanged(let expected, let found):
            "the implant in session is \(found.escaped), not \(expected.escaped), which the request was meant for, so it was not sent"
        }
    }
}

/// What the event log says about an uncertain request.
public enum Reconciliation: Sendable, Hashable {
    /// The log holds the events it caused: it took effect (once: a
    /// retransmission is never executed twice, §5).
    case applied([EventRecord])
    /// The log of every event since it was sent holds none of its: it did not.
    case notApplied
}

/// What the link asks its driver to do, or tells its owner.
public enum LinkAction: Sendable, Hashable {
    /// A state-changing request is about to go out for the first time as
    /// `attempt`. Comes just before its `.write`: an owner that records it
    /// durably first can reconcile the request even after its own crash.
    case sending(RequestID, Attempt)
    case write([UInt8])
    case complete(RequestID, LinkOutcome)
    case reconciled(RequestID, Attempt, Reconciliation)
    /// The next event of the pump's log, in index order with no duplicates.
    case event(EventRecord)
    /// Events from `from` to before `to` were overwritten before the host read them.
    case eventsLost(from: UInt32, to: UInt32)
    case connected(HelloReply)
    case down(String)
    /// A frame that failed authentication or otherwise looks hostile.
    case security(String)
    /// A figure of the line's health, for the owner's metrics: the link
    /// counts nothing itself (see `LinkObservation`).
    case observed(LinkObservation)
}

/// What the link saw of the line, one occurrence at a time: its owner turns
/// these into figures (pumpd's metrics). The link keeps no counters, so it
/// needs no metrics library and its tests see each occurrence as it happens.
public enum LinkObservation: Sendable, Hashable {
    /// An authenticated answer came this many milliseconds after the frame it
    /// answers was written. Only for frames written once (Karn's rule): after
    /// a retransmission, which copy was answered cannot be told.
    case roundTrip(milliseconds: Int64)
    /// A frame was written again because its answer did not come in time
    /// (HELLO or a request; not a BUSY pause).
    case retransmission
    /// A chunk from the device was refused: by the deframer (COBS, short,
    /// CRC, oversize, malformed) or, authenticated under the session, for its mac.
    case frameRefused(FrameError)
    /// The device answered BUSY.
    case busy
    /// The device answered AUTH_FAILED: it could not verify our mac.
    case authFailedAnswer
}
