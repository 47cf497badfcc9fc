import DoseSafety
import Messages

/// What came of a command, as one value: recorded with it (a typed column),
/// and the only thing its trail sentence, the API's answer and the HTTP
/// status are derived from. Nothing about an outcome is read back from text.
public enum CommandOutcome: Sendable, Hashable, Codable {
    /// The device answered OK.
    case succeeded(DeviceAnswer)
    /// A dose check refused it before anything was sent.
    case refused(Validation.Refusal, findings: [Finding])
    /// An override named no soft limit this change hits; nothing was sent.
    case unusedOverride(Validation.UnusedOverride, findings: [Finding])
    /// The device answered `status` to `step`: nothing changed.
    case refusedByDevice(StatusCode, step: Opcode)
    /// It never went out, and why: nothing changed.
    case notSent(NotSent)
    /// A step that changes nothing (staging) got no answer: nothing changed.
    case noAnswer(Opcode)
    /// Sent, and no answer came: it may have run. Settled only by the
    /// pump's event log (`applied` or `notApplied`), never by sending it again.
    case uncertain(Attempt)
    /// Was uncertain; the event log holds the events it caused: it ran, once.
    case applied([EventRecord])
    /// Was uncertain; the event log since it was sent holds none of its events.
    case notApplied
    /// A program that does not read back as it was sent.
    case readbackMismatch(ReadbackMismatch)
    /// Refused by pumpd itself before anything was judged (a write by a
    /// peer not on the clinician list, a capture it could not start), with
    /// the API's code and the sentence it answered.
    case actionRefused(code: String, message: String, field: String?)
    /// A local action's result (a capture started or stopped).
    case capture(CaptureResult)
    /// A station account added, given a new password or disabled (the sentence says which).
    case accountChanged(String)

    /// The OK answer's fields that the trail keeps.
    public enum DeviceAnswer: Sendable, Hashable, Codable {
        case done
        case bolusStarted(bolusID: UInt32)
        case bolusCancelled(delivered: Nanograms)
        case programCRC(UInt32)
        /// COMMIT_PROGRAM answered OK and the read-back is identical, byte for byte.
        case committed(programCRC: UInt32)
    }

    public enum NotSent: Sendable, Hashable, Codable {
        /// pumpd was stopping.
        case shuttingDown
        /// Another command's outcome is uncertain (`kind` when known).
        case uncertainPending(commandID: String, kind: String?)
        /// No session with the programmer head, with the link's note.
        case noSession(String)
        /// The pump's state could not be read for the checks.
        case stateUnread(ReadFailure)
        /// The link refused `step` unsent, saying why (no session, BUSY).
        case linkRefused(step: Opcode, why: String)
        /// The request failed its own checks on the way to the wire.
        case invalid(String)
        /// The attempt could not be recorded before its first byte, so it
        /// was withdrawn (the data dir is named for the person fixing it).
        case notRecorded(step: Opcode, dataDir: String)
        /// pumpd stopped before it went on the wire (settled at the next start).
        case stoppedBeforeSending
        /// The implant in session is not the one the open visit confirmed
        /// (`visitId`), or not the one the command was checked against.
        case wrongPatient(expected: String, found: String, visitId: String?)
    }

    /// Why a read the checks need failed.
    public enum ReadFailure: Error, Sendable, Hashable, Codable {
        case refused(Opcode, StatusCode)
        case notSent(Opcode, why: String)
        case noAnswer(Opcode)
    }

    public enum ReadbackMismatch: Sendable, Hashable, Codable {
        /// STAGE_PROGRAM answered another CRC: nothing was committed.
        case staged(crc: UInt32, sent: UInt32)
        /// Committed, but the program read back differs.
        case differs(readBack: UInt32)
        /// Committed (as `committed`), but the read-back failed.
        case unread(committed: UInt32)
    }

    public struct CaptureResult: Sendable, Hashable, Codable {
        public var recording: Bool
        public var path: String
        public var startedUs: Int64
        public var packets: Int
        public var bytes: Int
        public var failure: String?
        public init(recording: Bool, path: String, startedUs: Int64, packets: Int, bytes: Int, failure: String?) {
            self.recording = recording
            self.path = path
            self.startedUs = startedUs
            self.packets = packets
            self.bytes = bytes
            self.failure = failure
        }
    }

    /// The state a command with this outcome is in.
    public var state: CommandState {
        switch self {
        case .succeeded, .capture, .accountChanged: .succeeded
        case .uncertain: .uncertain
        case .applied: .applied
        case .notApplied: .notApplied
        case .readbackMismatch(.staged): .failed
        case .readbackMismatch: .applied
        case .refused, .unusedOverride, .refusedByDevice, .notSent, .noAnswer, .actionRefused: .failed
        }
    }

    /// The device's status name, when it answered.
    public var deviceStatus: String? {
        switch self {
        case .succeeded, .readbackMismatch: StatusCode.ok.name
        case .refusedByDevice(let s, _): s.name
        default: nil
        }
    }

    /// Refused before it reached the pump: it holds no Idempotency-Key, so
    /// the same key may be sent again once the refusal is fixed.
    public var releasesKey: Bool {
        switch self {
        case .refused, .unusedOverride, .notSent: true
        default: false
        }
    }
}
