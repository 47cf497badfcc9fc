import ClinicDatabase
import Glibc
import JSON
import Messages

/// The clinic's rows as tables for people and as JSON for scripts. Amounts
/// are rendered from whole ng and nL by shifting digits (DecimalText), never
/// through floating point; times are UTC.
enum ClinicView {
    /// ng → mg, ng/day → mg/day, nL → mL: exact decimal text ("0.25").
    static func milli(_ nano: Int64?) -> String? {
        guard let nano, nano >= 0 else { return nano.map(String.init) }
        return DecimalText.render(UInt64(nano), places: 6)
    }

    static func amount(_ nano: Int64?, _ unit: String) -> String { milli(nano).map { "\($0) \(unit)" } ?? "-" }

    /// "2026-11-21 09:30Z": minutes are enough for a table.
    static func time(seconds: Int64?) -> String {
        guard let seconds else { return "-" }
        let iso = TimeText.iso(seconds)  // "2026-11-21T09:30:00Z"
        return "\(iso.prefix(10)) \(iso.dropFirst(11).prefix(5))Z"
    }

    static func time(ms: Int64?) -> String { time(seconds: ms.map { $0 >= 0 ? $0 / 1000 : ($0 - 999) / 1000 }) }

    static func nowSeconds() -> Int64 { Int64(Glibc.time(nil)) }

    static func optional(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    static func optional(_ i: Int64?) -> JSONValue { i.map { .int($0) } ?? .null }
    static func isoSeconds(_ s: Int64?) -> JSONValue { s.map { .string(TimeText.iso($0)) } ?? .null }
    static func isoMillis(_ ms: Int64?) -> JSONValue { ms.map { .string(TimeText.isoMillis($0)) } ?? .null }

    static func printJSON(_ value: JSONValue) { Terminal.line(value.serialized) }

    // MARK: stations

    static func json(_ s: ClinicStation) -> JSONValue {
        .object([
            "station": .string(s.station), "first_seen": isoMillis(s.firstSeenMs), "last_replicated": isoMillis(s.lastReplicatedMs),
            "last_replicated_ms": optional(s.lastReplicatedMs), "last_seq": .int(s.lastSeq), "records": .int(s.records),
            "chain_breaks": .int(s.chainBreaks), "first_break_seq": optional(s.firstBreakSeq), "pumpd_version": optional(s.pumpdVersion),
        ])
    }

    static func table(_ stations: [ClinicStation]) -> [[String]] {
        [["STATION", "LAST REPLICATED", "LAST SEQ", "RECORDS", "BREAKS", "PUMPD"]]
            + stations.map { s in
                [
                    s.station, time(ms: s.lastReplicatedMs), String(s.lastSeq), String(s.records),
                    s.chainBreaks == 0 ? "0" : "\(s.chainBreaks) (first at \(s.firstBreakSeq.map(String.init) ?? "?"))", s.pumpdVersion ?? "-",
                ]
            }
    }

    // MARK: pumps

    static func json(_ p: ClinicPump) -> JSONValue {
        .object([
            "implant_serial": .string(p.implantSerial), "patient_id": optional(p.patientId), "patient_name": optional(p.patientName),
            "patient_identifier": optional(p.patientIdentifier), "drug": optional(p.drug), "drug_code": optional(p.drugCode),
            "concentration_ng_per_ml": optional(p.concentrationNgPerMl), "concentration_mg_per_ml": optional(milli(p.concentrationNgPerMl)),
            "daily_dose_ng_per_day": optional(p.dailyDoseNgPerDay), "daily_dose_mg_per_day": optional(milli(p.dailyDoseNgPerDay)),
            "current_rate_ng_per_day": optional(p.currentRateNgPerDay),
            "reservoir_nl": optional(p.reservoirNl), "reservoir_ml": optional(milli(p.reservoirNl)),
            "capacity_nl": optional(p.capacityNl), "low_alarm_nl": optional(p.lowAlarmNl),
            "low_alarm_at": optional(p.lowAlarmAtUnixSeconds), "low_alarm_at_iso": isoSeconds(p.lowAlarmAtUnixSeconds),
            "low_alarm_already": .bool(p.lowAlarmAlready),
            "empty_at": optional(p.emptyAtUnixSeconds), "empty_at_iso": isoSeconds(p.emptyAtUnixSeconds), "empty_already": .bool(p.emptyAlready),
            "battery_mv": optional(p.batteryMv), "battery_months_left": optional(p.batteryMonthsLeft), "state": optional(p.state),
            "alarms": .array(p.alarms.map { .string($0) }), "device_time": optional(p.deviceTimeUnixSeconds),
            "last_refill_at": optional(p.lastRefillAtUnixSeconds), "station": optional(p.station), "recorded_ms": optional(p.recordedMs),
            "recorded": isoMillis(p.recordedMs),
        ])
    }

    static func patient(_ p: ClinicPump) -> String {
        switch (p.patientId, p.patientName) {
        case (let id?, let name?): "\(name) (\(id))"
        case (let id?, nil): id
        case (nil, let name?): name
        case (nil, nil): "-"
        }
    }

    static func lowAlarm(_ p: ClinicPump) -> String { p.lowAlarmAlready ? "reached" : time(seconds: p.lowAlarmAtUnixSeconds) }
    static func empty(_ p: ClinicPump) -> String { p.emptyAlready ? "empty" : time(seconds: p.emptyAtUnixSeconds) }

    static func table(_ pumps: [ClinicPump]) -> [[String]] {
        [["IMPLANT", "PATIENT", "DRUG", "CONCENTRATION", "DAILY DOSE", "RESERVOIR", "LOW ALARM", "EMPTY", "STATE", "STATION", "RECORDED"]]
            + pumps.map { p in
                [
                    p.implantSerial, patient(p), p.drug ?? "-", amount(p.concentrationNgPerMl, "mg/mL"), amount(p.dailyDoseNgPerDay, "mg/day"),
                    amount(p.reservoirNl, "mL"), lowAlarm(p), empty(p),
                    ([p.state ?? "-"] + p.alarms).joined(separator: " "), p.station ?? "-", time(ms: p.recordedMs),
                ]
            }
    }

    /// Whole days from now until the low alarm (0: today or already).
    static func daysUntilLowAlarm(_ p: ClinicPump, now: Int64) -> Int64? {
        if p.lowAlarmAlready { return 0 }
        return p.lowAlarmAtUnixSeconds.map { max(0, ($0 - now) / 86400) }
    }

    static func calendarTable(_ pumps: [ClinicPump], now: Int64) -> [[String]] {
        [["LOW ALARM", "IN", "IMPLANT", "PATIENT", "DRUG", "RESERVOIR", "EMPTY", "STATION"]]
            + pumps.map { p in
                let days = daysUntilLowAlarm(p, now: now) ?? 0
                let due = p.lowAlarmAlready || (p.lowAlarmAtUnixSeconds ?? now) <= now ? "now" : days == 0 ? "< 1 d" : "\(days) d"
                return [
                    lowAlarm(p), due, p.implantSerial, patient(p),
                    p.drug ?? "-", amount(p.reservoirNl, "mL"), empty(p), p.station ?? "-",
                ]
            }
    }

    // MARK: overrides

    static func json(_ o: ClinicOverride) -> JSONValue {
        .object([
            "station": .string(o.station), "command_id": .string(o.commandId), "at_ms": .int(o.atMs), "at": .string(TimeText.isoMillis(o.atMs)),
            "who": .string(o.who), "account": optional(o.account), "role": optional(o.role), "uid": optional(o.uid),
            "patient_id": optional(o.patientId), "patient_name": optional(o.patientName), "visit_id": optional(o.visitId),
            "kind": .string(o.kind), "drug": optional(o.drug), "rule": .string(o.rule), "reason": .string(o.reason),
            "finding": optional(o.finding), "state": .string(o.state),
        ])
    }

    static func table(_ overrides: [ClinicOverride]) -> [[String]] {
        [["WHEN", "STATION", "COMMAND", "WHO", "PATIENT", "DRUG", "RULE", "STATE", "REASON"]]
            + overrides.map { o in
                [
                    time(ms: o.atMs), o.station, "\(o.commandId) \(o.kind)", o.who,
                    o.patientName.map { n in o.patientId.map { "\(n) (\($0))" } ?? n } ?? o.patientId ?? "-",
                    o.drug ?? "-", o.rule, o.state, Self.oneLine(o.reason),
                ]
            }
    }

    /// A reason on one line of the table, control characters shown as spaces.
    static func oneLine(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }

    // MARK: verify

    static func json(_ b: ChainBreak) -> JSONValue {
        .object(["station": .string(b.station), "seq": .int(b.seq), "kind": .string(b.kind.rawValue), "reason": .string(b.reason)])
    }

    static func json(_ r: ChainReport) -> JSONValue {
        .object([
            "intact": .bool(r.intact), "records": .int(r.records), "station_count": .int(Int64(r.stations.count)),
            "stations": .array(
                r.stations.map { s in
                    .object([
                        "station": .string(s.station), "records": .int(s.records), "last_seq": .int(s.lastSeq),
                        "holds": .bool(s.firstBreak == nil), "first_break": s.firstBreak.map(json) ?? .null,
                    ])
                }),
            "breaks": .array(r.breaks.map(json)),
            "recorded_breaks": .array(
                r.recorded.map { b in
                    .object([
                        "id": .int(b.id), "station": .string(b.station), "seq": .int(b.seq), "found_at": .string(TimeText.isoMillis(b.foundAtMs)),
                        "found_by": .string(b.foundBy), "reason": .string(b.reason),
                    ])
                }),
        ])
    }
}
