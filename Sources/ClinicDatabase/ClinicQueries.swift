import Logging
import PostgresNIO

/// The clinic's views read back as typed rows, for `pumpctl clinic` and
/// anything else that reads as pumpd_reader. Every query binds its values;
/// times are turned into whole unix seconds or milliseconds by PostgreSQL
/// (extract(epoch) is numeric there, so nothing passes through a double).
public struct ClinicQueries: Sendable {
    /// The schema version these queries read (deploy/postgres/002_clinic_views.sql).
    public static let schemaVersionNeeded = 2

    public let connection: PostgresConnection
    public let logger: Logger

    public init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// The highest migration applied; 0 when the pumpd schema is not there at all.
    public func schemaVersion() async throws -> Int {
        do {
            let rows = try await connection.query("SELECT coalesce(max(version), 0)::bigint FROM pumpd.schema_version", logger: logger)
            for try await v in rows.decode(Int64.self) { return Int(v) }
            return 0
        } catch let e as PSQLError where ["3F000", "42P01"].contains(e.serverInfo?[.sqlState]) {
            // invalid_schema_name, undefined_table: the database was never migrated.
            return 0
        }
    }

    /// Throws `ClinicFailure.schemaTooOld` unless the views are there.
    public func requireSchema() async throws {
        let held = try await schemaVersion()
        guard held >= Self.schemaVersionNeeded else {
            throw ClinicFailure(.schemaTooOld, "the clinic database's pumpd schema is at version \(held); this needs version \(Self.schemaVersionNeeded) or later: apply deploy/postgres/migrate as the database's owner")
        }
    }

    public func stations() async throws -> [ClinicStation] {
        let rows = try await connection.query(
            """
            SELECT station, (extract(epoch FROM first_seen) * 1000)::bigint AS first_seen_ms,
                   (extract(epoch FROM last_replicated_at) * 1000)::bigint AS last_replicated_ms,
                   last_seq, records, chain_breaks, first_break_seq, pumpd_version
            FROM pumpd.clinic_stations ORDER BY station
            """, logger: logger)
        var out: [ClinicStation] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            out.append(
                ClinicStation(
                    station: try r["station"].decode(String.self), firstSeenMs: try r["first_seen_ms"].decode(Int64.self),
                    lastReplicatedMs: try r["last_replicated_ms"].decode(Int64?.self), lastSeq: try r["last_seq"].decode(Int64.self),
                    records: try r["records"].decode(Int64.self), chainBreaks: try r["chain_breaks"].decode(Int64.self),
                    firstBreakSeq: try r["first_break_seq"].decode(Int64?.self), pumpdVersion: try r["pumpd_version"].decode(String?.self)))
        }
        return out
    }

    /// The columns of clinic_pumps with its times as whole unix seconds.
    static let pumpColumns = """
        implant_serial, patient_id, patient_name, patient_identifier, drug, drug_code::bigint AS drug_code,
        concentration_ng_per_ml, daily_dose_ng_per_day, current_rate_ng_per_day, reservoir_nl, capacity_nl, low_alarm_nl,
        extract(epoch FROM low_alarm_at)::bigint AS low_alarm_at_s, low_alarm_already,
        extract(epoch FROM empty_at)::bigint AS empty_at_s, empty_already,
        battery_mv::bigint AS battery_mv, battery_months_left::bigint AS battery_months_left, state, alarms,
        extract(epoch FROM device_time)::bigint AS device_time_s, extract(epoch FROM last_refill_at)::bigint AS last_refill_at_s,
        station, (extract(epoch FROM recorded_at) * 1000)::bigint AS recorded_ms
        """

    /// Every patient and pump, by implant serial.
    public func pumps() async throws -> [ClinicPump] {
        try await pumpRows(
            try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT \(Self.pumpColumns) FROM pumpd.clinic_pumps ORDER BY implant_serial NULLS LAST, patient_id"),
                logger: logger))
    }

    /// The pumps whose reservoir reaches its low alarm within `days` days (or
    /// already has), soonest first.
    public func refillCalendar(days: Int) async throws -> [ClinicPump] {
        let sql = """
            SELECT \(Self.pumpColumns) FROM pumpd.refill_calendar($1)
            ORDER BY low_alarm_already DESC, low_alarm_at NULLS FIRST, implant_serial
            """
        var binds = PostgresBindings()
        binds.append(Int32(clamping: days))
        return try await pumpRows(try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger))
    }

    func pumpRows(_ rows: PostgresRowSequence) async throws -> [ClinicPump] {
        var out: [ClinicPump] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            // A patient whose pump never replicated still has its implant's serial.
            var p = ClinicPump(implantSerial: try r["implant_serial"].decode(String?.self) ?? "")
            p.patientId = try r["patient_id"].decode(String?.self)
            p.patientName = try r["patient_name"].decode(String?.self)
            p.patientIdentifier = try r["patient_identifier"].decode(String?.self)
            p.drug = try r["drug"].decode(String?.self)
            p.drugCode = try r["drug_code"].decode(Int64?.self)
            p.concentrationNgPerMl = try r["concentration_ng_per_ml"].decode(Int64?.self)
            p.dailyDoseNgPerDay = try r["daily_dose_ng_per_day"].decode(Int64?.self)
            p.currentRateNgPerDay = try r["current_rate_ng_per_day"].decode(Int64?.self)
            p.reservoirNl = try r["reservoir_nl"].decode(Int64?.self)
            p.capacityNl = try r["capacity_nl"].decode(Int64?.self)
            p.lowAlarmNl = try r["low_alarm_nl"].decode(Int64?.self)
            p.lowAlarmAtUnixSeconds = try r["low_alarm_at_s"].decode(Int64?.self)
            p.lowAlarmAlready = try r["low_alarm_already"].decode(Bool.self)
            p.emptyAtUnixSeconds = try r["empty_at_s"].decode(Int64?.self)
            p.emptyAlready = try r["empty_already"].decode(Bool.self)
            p.batteryMv = try r["battery_mv"].decode(Int64?.self)
            p.batteryMonthsLeft = try r["battery_months_left"].decode(Int64?.self)
            p.state = try r["state"].decode(String?.self)
            p.alarms = try r["alarms"].decode([String]?.self) ?? []
            p.deviceTimeUnixSeconds = try r["device_time_s"].decode(Int64?.self)
            p.lastRefillAtUnixSeconds = try r["last_refill_at_s"].decode(Int64?.self)
            p.station = try r["station"].decode(String?.self)
            p.recordedMs = try r["recorded_ms"].decode(Int64?.self)
            out.append(p)
        }
        return out
    }

    /// Every override asked at or after `fromMs` and before `toMs` (unix ms;
    /// nil: no bound), oldest first.
    public func overrides(fromMs: Int64? = nil, toMs: Int64? = nil) async throws -> [ClinicOverride] {
        var binds = PostgresBindings()
        binds.append(fromMs)
        binds.append(toMs)
        let sql = """
            SELECT station, command_id, at_ms, account, role, uid, patient_id, patient_name, visit_id, kind, drug, rule, reason, finding, state
            FROM pumpd.clinic_overrides
            WHERE ($1::bigint IS NULL OR at_ms >= $1) AND ($2::bigint IS NULL OR at_ms < $2)
            ORDER BY at_ms, station, command_id, rule
            """
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        var out: [ClinicOverride] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            var o = ClinicOverride(
                station: try r["station"].decode(String.self), commandId: try r["command_id"].decode(String.self),
                atMs: try r["at_ms"].decode(Int64?.self) ?? 0, kind: try r["kind"].decode(String?.self) ?? "",
                rule: try r["rule"].decode(String?.self) ?? "", reason: try r["reason"].decode(String?.self) ?? "",
                state: try r["state"].decode(String?.self) ?? "")
            o.account = try r["account"].decode(String?.self)
            o.role = try r["role"].decode(String?.self)
            o.uid = try r["uid"].decode(Int64?.self)
            o.patientId = try r["patient_id"].decode(String?.self)
            o.patientName = try r["patient_name"].decode(String?.self)
            o.visitId = try r["visit_id"].decode(String?.self)
            o.drug = try r["drug"].decode(String?.self)
            o.finding = try r["finding"].decode(String?.self)
            out.append(o)
        }
        return out
    }

    /// Every break recorded in pumpd.chain_break, in the order found.
    public func recordedBreaks() async throws -> [RecordedChainBreak] {
        let rows = try await connection.query(
            "SELECT id, station, seq, (extract(epoch FROM found_at) * 1000)::bigint AS found_ms, found_by, reason FROM pumpd.chain_break ORDER BY id",
            logger: logger)
        var out: [RecordedChainBreak] = []
        for try await (id, station, seq, foundMs, foundBy, reason) in rows.decode((Int64, String, Int64, Int64, String, String).self) {
            out.append(RecordedChainBreak(id: id, station: station, seq: seq, foundAtMs: foundMs, foundBy: foundBy, reason: reason))
        }
        return out
    }
}
