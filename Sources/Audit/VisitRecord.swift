import DoseSafety
import Foundation
import GRDB
import Messages

/// A clinical visit: the patient confirmed for the implant under the head,
/// the pump as it was found and as it was left, and how the visit ended.
/// Commands sent while it is open carry its id.
public struct VisitRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "visit"

    /// The pump at one moment of the visit.
    public struct PumpState: Codable, Sendable, Hashable {
        public var status: Status
        public var program: ProgramRecord?
        public var atMs: Int64
        public init(status: Status, program: ProgramRecord?, atMs: Int64) {
            self.status = status
            self.program = program
            self.atMs = atMs
        }
    }

    /// Why ending the visit needed an acknowledgement, and who gave it.
    public struct Acknowledgement: Codable, Sendable, Hashable {
        /// The conditions' stable names ("pump_suspended", …) and sentences.
        public var conditions: [Condition]
        public var reason: String
        public init(conditions: [Condition], reason: String) {
            self.conditions = conditions
            self.reason = reason
        }
    }

    public struct Condition: Codable, Sendable, Hashable {
        public var code: String
        public var message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// "v" + a number.
    public var id: String
    public var patientId: String
    /// The implant confirmed for the patient; writes go to no other.
    public var implantSerial: String
    public var startedMs: Int64
    public var startedBy: String
    /// The pump when the visit started.
    public var before: PumpState
    /// What the checks at the start found (clock, daylight saving).
    public var startFindings: [Finding]
    public var endedMs: Int64?
    public var endedBy: String?
    public var after: PumpState?
    public var acknowledgement: Acknowledgement?

    public var isOpen: Bool { endedMs == nil }

    public init(id: String, patientId: String, implantSerial: String, startedMs: Int64, startedBy: String, before: PumpState, startFindings: [Finding]) {
        self.id = id
        self.patientId = patientId
        self.implantSerial = implantSerial
        self.startedMs = startedMs
        self.startedBy = startedBy
        self.before = before
        self.startFindings = startFindings
    }

    public static func databaseJSONDecoder(for column: String) -> JSONDecoder { CommandRecord.decoder }
    public static func databaseJSONEncoder(for column: String) -> JSONEncoder { CommandRecord.encoder }
}
