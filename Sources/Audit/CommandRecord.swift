import DoseSafety
import Foundation
import GRDB
import Messages

/// Where a command stands. Every state-changing request the daemon makes is
/// one row, written before its first byte goes on the wire and updated after.
public enum CommandState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    /// Recorded; not yet known to have gone out.
    case pending
    /// The device answered OK (and, for a program, the read-back matched).
    case succeeded
    /// The device answered with an error status, or it never ran (refused
    /// here, never accepted): nothing changed.
    case failed
    /// No answer came: it may or may not have run. Blocks every other
    /// state-changing command until the event log settles it.
    case uncertain
    /// Was uncertain; the event log shows it ran (once).
    case applied
    /// Was uncertain; the event log shows it did not run.
    case notApplied = "not_applied"

    /// Final states never change again.
    public var isFinal: Bool { self == .succeeded || self == .failed || self == .applied || self == .notApplied }
}

/// Who asked. On the socket: the peer's credentials (SO_PEERCRED). At the
/// station: the account and its role (uid, gid and pid are then pumpd's own,
/// the process that served the page).
public struct Requester: Codable, Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    /// The station's account name; nil for a socket peer.
    public var account: String?
    /// What the requester may do; nil until an edge has decided it (then nothing is allowed).
    public var role: Role?
    public init(uid: UInt32, gid: UInt32, pid: Int32, account: String? = nil, role: Role? = nil) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.account = account
        self.role = role
    }

    /// "alice (clinician)" at the station, "uid 1000 (clinician)" on the socket.
    public var name: String {
        let who = account ?? "uid \(uid)"
        return role.map { "\(who) (\($0.rawValue))" } ?? who
    }
}

/// One command in the audit trail.
public struct CommandRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "command"

    public var id: String
    public var createdMs: Int64
    public var updatedMs: Int64
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    /// The station account that asked (nil: a socket peer, or a row from before schema v4).
    public var account: String?
    /// The role the request was judged with (nil: a row from before schema v4).
    public var role: Role?
    /// The client's Idempotency-Key, unique among commands.
    public var idempotencyKey: String?
    /// What was asked, e.g. "bolus", "suspend", "program".
    public var kind: String
    /// The request as the client sent it (JSON text, or an excerpt of a
    /// refused body), for people reading the trail; pumpd never reads it back.
    public var request: String
    /// What the command asks the pump to do, as a value (nil for rows that
    /// are not a plan: refusals, captures, summaries): what an
    /// Idempotency-Key's retry is compared with, and what the dose history reads.
    public var plan: Plan?
    public var state: CommandState
    /// Each first transmission, recorded before its first byte went out.
    public var attempts: [Attempt] = []
    /// The device's status name when it answered.
    public var deviceStatus: String?
    /// What came of it.
    public var outcome: CommandOutcome?
    /// The outcome as JSON text, for rows written before outcomes were
    /// typed (schema v3): shown as it was, never decided on.
    public var legacyOutcome: String?
    /// A sentence for people reading the trail.
    public var note: String?
    /// The patient record of the implant it was for (nil: none known, or a row from before schema v5).
    public var patientId: String?
    /// The visit it was sent in, if one was open.
    public var visitId: String?
    /// The review the command passed or failed, as the person saw it (programs, boluses, refills).
    public var review: Review?

    public init(
        id: String, createdMs: Int64, requester: Requester, idempotencyKey: String?, kind: String, request: String, plan: Plan? = nil,
        patientId: String? = nil, visitId: String? = nil
    ) {
        self.patientId = patientId
        self.visitId = visitId
        self.id = id
        self.createdMs = createdMs
        updatedMs = createdMs
        uid = requester.uid
        gid = requester.gid
        pid = requester.pid
        account = requester.account
        role = requester.role
        self.idempotencyKey = idempotencyKey
        self.kind = kind
        self.request = request
        self.plan = plan
        state = .pending
    }

    public var requester: Requester { Requester(uid: uid, gid: gid, pid: pid, account: account, role: role) }

    // The typed columns (plan, attempts, outcome) are JSON in SQLite. One
    // decoder and one encoder serve every row: GRDB's default makes a new
    // one per column read, which made the audit listing twice as slow.
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .throw
        return d
    }()
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return e
    }()
    public static func databaseJSONDecoder(for column: String) -> JSONDecoder { decoder }
    public static func databaseJSONEncoder(for column: String) -> JSONEncoder { encoder }
}

/// One event of the pump's log, mirrored with its index (no gaps, no duplicates).
public struct EventRow: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "event"

    public var index: Int64
    public var time: Int64
    public var code: Int
    public var name: String?
    public var originSeq: Int
    public var originSession: Int64
    public var value1: Int64
    public var value2: Int64
    public var receivedMs: Int64
    /// The patient record of the implant in session when it was mirrored.
    public var patientId: String?

    public init(
        index: Int64, time: Int64, code: Int, name: String?, originSeq: Int, originSession: Int64, value1: Int64, value2: Int64, receivedMs: Int64,
        patientId: String? = nil
    ) {
        self.patientId = patientId
        self.index = index
        self.time = time
        self.code = code
        self.name = name
        self.originSeq = originSeq
        self.originSession = originSession
        self.value1 = value1
        self.value2 = value2
        self.receivedMs = receivedMs
    }
}

extension Role: DatabaseValueConvertible {}
