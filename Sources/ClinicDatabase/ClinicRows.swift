/// The rows of the clinic's views (deploy/postgres/002_clinic_views.sql) as
/// values. Quantities are whole numbers in the pump's units, named in the
/// field; times are unix seconds or milliseconds, named too. Nothing here is
/// floating point: mg and mL are rendered from these by whoever shows them.

/// One station of `pumpd.clinic_stations`.
public struct ClinicStation: Sendable, Hashable {
    public var station: String
    public var firstSeenMs: Int64
    /// When its last batch arrived; nil if none ever did.
    public var lastReplicatedMs: Int64?
    /// The last seq of its chain the clinic holds.
    public var lastSeq: Int64
    /// How many of its records the clinic holds.
    public var records: Int64
    /// How many breaks of its chain were recorded (at ingest or by a verify).
    public var chainBreaks: Int64
    /// The seq of the earliest break recorded, if any.
    public var firstBreakSeq: Int64?
    public var pumpdVersion: String?

    public init(
        station: String, firstSeenMs: Int64, lastReplicatedMs: Int64?, lastSeq: Int64, records: Int64, chainBreaks: Int64,
        firstBreakSeq: Int64?, pumpdVersion: String?
    ) {
        self.station = station
        self.firstSeenMs = firstSeenMs
        self.lastReplicatedMs = lastReplicatedMs
        self.lastSeq = lastSeq
        self.records = records
        self.chainBreaks = chainBreaks
        self.firstBreakSeq = firstBreakSeq
        self.pumpdVersion = pumpdVersion
    }
}

/// One patient and pump of `pumpd.clinic_pumps` (and of `pumpd.refill_calendar`):
/// the implant's newest snapshot, across stations, with its patient.
public struct ClinicPump: Sendable, Hashable {
    public var implantSerial: String
    public var patientId: String?
    public var patientName: String?
    public var patientIdentifier: String?
    /// The drug library's name of the drug in the pump; nil: none loaded or not known.
    public var drug: String?
    public var drugCode: Int64?
    public var concentrationNgPerMl: Int64?
    /// The program's daily total; nil when not known.
    public var dailyDoseNgPerDay: Int64?
    public var currentRateNgPerDay: Int64?
    public var reservoirNl: Int64?
    public var capacityNl: Int64?
    public var lowAlarmNl: Int64?
    /// When the reservoir reaches its low alarm by the pump's projection (unix s); nil: never.
    public var lowAlarmAtUnixSeconds: Int64?
    public var lowAlarmAlready: Bool
    /// When it runs empty by the same projection (unix s); nil: never.
    public var emptyAtUnixSeconds: Int64?
    public var emptyAlready: Bool
    public var batteryMv: Int64?
    public var batteryMonthsLeft: Int64?
    public var state: String?
    public var alarms: [String]
    public var deviceTimeUnixSeconds: Int64?
    public var lastRefillAtUnixSeconds: Int64?
    /// The station that took the snapshot; nil for a patient whose pump never replicated.
    public var station: String?
    public var recordedMs: Int64?

    public init(implantSerial: String) {
        self.implantSerial = implantSerial
        lowAlarmAlready = false
        emptyAlready = false
        alarms = []
    }
}

/// One soft limit passed on purpose, from `pumpd.clinic_overrides`.
public struct ClinicOverride: Sendable, Hashable {
    public var station: String
    public var commandId: String
    /// When the command was asked (the station's clock, unix ms).
    public var atMs: Int64
    /// Who: the station's account and role; a socket peer has a uid and no account.
    public var account: String?
    public var role: String?
    public var uid: Int64?
    public var patientId: String?
    public var patientName: String?
    public var visitId: String?
    /// The command's kind ("program", "bolus", "refill").
    public var kind: String
    public var drug: String?
    /// The rule overridden, e.g. "change.max_percent".
    public var rule: String
    /// Why, in the clinician's words.
    public var reason: String
    /// The finding as the review said it.
    public var finding: String?
    /// The command's state now ("succeeded", "uncertain", …).
    public var state: String

    public init(station: String, commandId: String, atMs: Int64, kind: String, rule: String, reason: String, state: String) {
        self.station = station
        self.commandId = commandId
        self.atMs = atMs
        self.kind = kind
        self.rule = rule
        self.reason = reason
        self.state = state
    }

    /// "alice (clinician)" at a station, "uid 1000 (clinician)" on the socket.
    public var who: String {
        let name = account ?? uid.map { "uid \($0)" } ?? "?"
        return role.map { "\(name) (\($0))" } ?? name
    }
}

/// One row of `pumpd.chain_break`: a break recorded at ingest or by a verify.
public struct RecordedChainBreak: Sendable, Hashable {
    public var id: Int64
    public var station: String
    public var seq: Int64
    public var foundAtMs: Int64
    /// "ingest" or "verify".
    public var foundBy: String
    public var reason: String

    public init(id: Int64, station: String, seq: Int64, foundAtMs: Int64, foundBy: String, reason: String) {
        self.id = id
        self.station = station
        self.seq = seq
        self.foundAtMs = foundAtMs
        self.foundBy = foundBy
        self.reason = reason
    }
}
