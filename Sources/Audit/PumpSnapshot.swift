import GRDB

/// The pump as last seen, kept in the trail so that the clinic's database
/// knows every patient's drug, dose and when the reservoir runs low without
/// asking the station: one row per implant, rewritten (and journaled) when it
/// changes in a way the clinic's views show.
public struct PumpSnapshot: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "pump"
    public var implantSerial: String
    public var patientId: String?
    /// The drug library's name of the loaded drug; nil when none is loaded.
    public var drug: String?
    public var drugCode: Int64
    public var concentrationNgPerMl: Int64
    /// What the pump infuses now, ng per day.
    public var currentRateNgPerDay: Int64
    /// The program's total per day, ng; nil when the program is not known yet.
    public var dailyDoseNgPerDay: Int64?
    public var reservoirNl: Int64
    public var capacityNl: Int64
    public var lowAlarmNl: Int64
    /// Unix seconds when the reservoir reaches its low-alarm level and runs
    /// empty (DoseSafety's projection); nil when never or not known.
    public var lowAlarmAt: Int64?
    public var lowAlarmAlready: Bool
    public var emptyAt: Int64?
    public var emptyAlready: Bool
    public var batteryMv: Int64
    public var batteryMonthsLeft: Int64
    public var state: String
    public var alarms: [String]
    /// The pump's clock at the status read, and its last refill, unix seconds.
    public var deviceTime: Int64
    public var lastRefillAt: Int64
    public var recordedMs: Int64

    public init(
        implantSerial: String, patientId: String?, drug: String?, drugCode: Int64, concentrationNgPerMl: Int64, currentRateNgPerDay: Int64,
        dailyDoseNgPerDay: Int64?, reservoirNl: Int64, capacityNl: Int64, lowAlarmNl: Int64, lowAlarmAt: Int64?, lowAlarmAlready: Bool,
        emptyAt: Int64?, emptyAlready: Bool, batteryMv: Int64, batteryMonthsLeft: Int64, state: String, alarms: [String], deviceTime: Int64,
        lastRefillAt: Int64, recordedMs: Int64
    ) {
        self.implantSerial = implantSerial
        self.patientId = patientId
        self.drug = drug
        self.drugCode = drugCode
        self.concentrationNgPerMl = concentrationNgPerMl
        self.currentRateNgPerDay = currentRateNgPerDay
        self.dailyDoseNgPerDay = dailyDoseNgPerDay
        self.reservoirNl = reservoirNl
        self.capacityNl = capacityNl
        self.lowAlarmNl = lowAlarmNl
        self.lowAlarmAt = lowAlarmAt
        self.lowAlarmAlready = lowAlarmAlready
        self.emptyAt = emptyAt
        self.emptyAlready = emptyAlready
        self.batteryMv = batteryMv
        self.batteryMonthsLeft = batteryMonthsLeft
        self.state = state
        self.alarms = alarms
        self.deviceTime = deviceTime
        self.lastRefillAt = lastRefillAt
        self.recordedMs = recordedMs
    }

    /// How far the reservoir may drift, the projection move and time pass
    /// before a snapshot is written again though nothing else changed.
    public static let reservoirStepNl: Int64 = 500_000
    public static let projectionStepSeconds: Int64 = 3600
    public static let heartbeatMs: Int64 = 3_600_000

    /// Whether this snapshot says something the stored one does not: every
    /// field the clinic reads but the slow ones (reservoir, projections,
    /// battery volts, clocks), which count past their step.
    public func differsMaterially(from old: PumpSnapshot?) -> Bool {
        guard let old else { return true }
        if patientId != old.patientId || drug != old.drug || drugCode != old.drugCode || concentrationNgPerMl != old.concentrationNgPerMl
            || currentRateNgPerDay != old.currentRateNgPerDay || dailyDoseNgPerDay != old.dailyDoseNgPerDay || capacityNl != old.capacityNl
            || lowAlarmNl != old.lowAlarmNl || lowAlarmAlready != old.lowAlarmAlready || emptyAlready != old.emptyAlready
            || batteryMonthsLeft != old.batteryMonthsLeft || state != old.state || alarms != old.alarms || lastRefillAt != old.lastRefillAt
        {
            return true
        }
        func moved(_ a: Int64?, _ b: Int64?, by step: Int64) -> Bool {
            switch (a, b) {
            case (nil, nil): false
            case (let x?, let y?): x > y ? x - y >= step : y - x >= step
            default: true
            }
        }
        return moved(reservoirNl, old.reservoirNl, by: Self.reservoirStepNl) || moved(lowAlarmAt, old.lowAlarmAt, by: Self.projectionStepSeconds)
            || moved(emptyAt, old.emptyAt, by: Self.projectionStepSeconds) || moved(recordedMs, old.recordedMs, by: Self.heartbeatMs)
    }
}

extension AuditStore {
    /// Keeps `snapshot` if it differs materially from the implant's stored
    /// one; says whether it wrote.
    @discardableResult
    public func recordPump(_ snapshot: PumpSnapshot) throws -> Bool {
        try write { db in
            let old = try PumpSnapshot.fetchOne(db, key: snapshot.implantSerial)
            guard snapshot.differsMaterially(from: old) else { return false }
            try snapshot.save(db)
            try Journal.record(db, .pump, key: snapshot.implantSerial, atMs: Self.nowMs())
            return true
        }
    }

    public func pump(implantSerial: String) throws -> PumpSnapshot? {
        try pool.read { db in try PumpSnapshot.fetchOne(db, key: implantSerial) }
    }
}
