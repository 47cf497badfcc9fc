import Audit
import Messages

/// What each outcome says to the person who asked, and what to do next: the
/// sentence the audit trail keeps and the API answers with. Its HTTP status
/// and code are the edge's (`OutcomeHTTP`); the words are decided here, once.
extension CommandOutcome {
    /// Nil for an outcome that is not a failure or a doubt (the command did what was asked).
    public func sentence(commandID id: String) -> String? {
        switch self {
        case .succeeded, .applied, .capture, .accountChanged: nil
        case .refused(let r, _): r.sentence
        case .unusedOverride(let u, _): u.sentence
        case .refusedByDevice(let s, _): DeviceAdvice.refused(s)
        case .notSent(let why): why.sentence
        case .noAnswer(.stageProgram): "the pump did not answer STAGE_PROGRAM; nothing was committed. " + DeviceAdvice.checkHead
        case .noAnswer(let step): DeviceAdvice.unavailable("the pump did not answer \(step.name)")
        case .uncertain(let a):
            "no answer came to \(a.opcode.name) (seq \(a.seq)); it may or may not have run. pumpd will not send it again: it settles the outcome from the pump's event log as soon as a session is open. Follow it with `pumpctl command \(id)`"
        case .notApplied:
            "no answer came, and the pump's event log since it was sent holds none of its events: it did not run and nothing changed; send it again (with a new Idempotency-Key) if it is still wanted"
        case .readbackMismatch(.staged(let crc, let sent)):
            "the pump staged a program with CRC \(crc), not \(sent): it was altered on the way; nothing was committed"
        case .readbackMismatch(.differs(let back)):
            "the pump committed the program but reads back a different one (CRC \(back)); check it with `pumpctl program show` before resuming"
        case .readbackMismatch(.unread(let committed)):
            "the pump committed the program (CRC \(committed)) but the read-back failed; check it with `pumpctl program show`"
        case .actionRefused(_, let message, _): message
        }
    }
}

extension CommandOutcome.NotSent {
    public var sentence: String {
        switch self {
        case .shuttingDown: "pumpd is stopping; send the command again once it is back"
        case .uncertainPending(let other, let kind?):
            "command \(other) (\(kind)) has an uncertain outcome; nothing that changes the pump is sent until the pump's event log settles it. Watch it with `pumpctl command \(other)`"
        case .uncertainPending(let other, nil):
            "command \(other) has an uncertain outcome; nothing that changes the pump is sent until it is settled"
        case .noSession(let note): DeviceAdvice.unavailable("no session with the programmer head (\(note))")
        case .stateUnread(let f): f.sentence
        case .linkRefused(let step, let why): DeviceAdvice.unavailable("\(step.name) was not sent: \(why)")
        case .invalid(let problem): problem
        case .notRecorded(let step, let dataDir):
            "the audit store could not record \(step.name)'s attempt before it went out, so it was not sent and nothing changed. Free space in the data dir \(dataDir) (or make it writable); writes are taken again by themselves"
        case .stoppedBeforeSending: "never sent: pumpd stopped before the command went on the wire; nothing changed on the pump"
        case .wrongPatient(let expected, let found, let visit?):
            "the implant under the programmer head is \(found), but visit \(visit) confirmed the patient with implant \(expected): nothing was sent. Hold the head over that patient's pump; if the pump in session is truly this patient's (it was replaced), confirm it: pumpctl visit confirm \(visit) --implant \(found)"
        case .wrongPatient(let expected, let found, nil):
            "the implant in session changed from \(expected) to \(found) while the command waited (another pump is under the programmer head): nothing was sent. Check whose pump is under the head, then send it again"
        }
    }
}

extension CommandOutcome.ReadFailure {
    public var sentence: String {
        switch self {
        case .refused(_, let s): DeviceAdvice.refused(s)
        case .notSent(.getStatus, let why): DeviceAdvice.unavailable("the status could not be read: \(why)")
        case .notSent(.getProgram, let why): DeviceAdvice.unavailable("the program could not be read: \(why)")
        case .notSent(let step, let why): DeviceAdvice.unavailable("\(step.name) could not be read: \(why)")
        case .noAnswer(let step): DeviceAdvice.unavailable("the pump did not answer \(step.name)")
        }
    }
}

/// What a device status means for the person who asked, and what to do next.
enum DeviceAdvice {
    static func advice(_ s: StatusCode) -> String {
        switch s {
        case .telemetryLost: "the implant is out of range of the programmer head: place the head over the implant and send the command again; nothing was done"
        case .limit: "a device hard limit (ICD §10) would be exceeded; nothing was done. Check the flow against the loaded concentration"
        case .noStagedProgram, .crcMismatch: "the staged program was lost before the commit (another host, or a refill); nothing was committed: push the program again"
        case .noDrug: "no drug is loaded: refill the pump first"
        case .pumpFault: "the pump cannot infuse (motor stall, end of service or empty reservoir): see the alarms in `pumpctl status`"
        case .bolusActive: "a bolus is running: wait for it to end or cancel it first"
        case .noBolus: "no bolus is running, so there is nothing to cancel"
        case .noProgram: "there is no active program (never programmed, or cleared by a refill with a new drug or concentration): push a program first"
        case .badParam: "the pump refused a field as out of range; nothing was done"
        case .internal: "the device reported an internal error; nothing was done. Try again; if it repeats, call service"
        case .busy: "the device stayed busy; nothing was done. Try again shortly"
        default: "the device refused the request (\(s.name)); nothing was done"
        }
    }

    static func refused(_ s: StatusCode) -> String { "the pump answered \(s.name): \(advice(s))" }

    static let checkHead = "Check that the programmer head is plugged in and over the implant (`pumpctl device`), then try again"

    static func unavailable(_ why: String) -> String { "\(why). \(checkHead)" }
}
