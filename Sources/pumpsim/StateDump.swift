import JSON
import Messages
import Simulator
import Wire

/// The whole simulated pump as JSON, for tests that check what the device
/// really did (not what a host believes it did).
enum StateDump {
    static func int<T: BinaryInteger>(_ v: T) -> JSONValue { .int(Int64(v)) }

    static func json(_ head: ProgrammerHead, simMs: Int64, wallMs: Int64, linkPath: String?, plugged: Bool) -> JSONValue {
        let i = head.implant
        var session: JSONObject = ["open": .bool(false)]
        if let s = head.session {
            session = [
                "open": .bool(wallMs - s.lastAuthenticatedMs <= head.sessionTimeoutMs),
                "tag": int(s.tag), "last_seq": int(s.lastSeq), "cached": .bool(s.cached != nil),
                "staged_program_crc": s.staged.map { int($0.crc) } ?? .null,
                "host_max_payload": int(s.hostMaxPayload),
            ]
        }
        var bolus: JSONValue = .null
        if let b = i.bolus {
            bolus = .object([
                "id": int(b.id), "dose_ng": int(b.dose.raw), "duration_min": int(b.duration.raw),
                "delivered_ng": int(b.deliveredNg), "drained_nl": int(b.drainedNl),
            ])
        }
        var program: JSONValue = .null
        if let p = i.program {
            program = .object(["crc": int(p.crc), "bytes": .string(Hex.encode(p.encode()))])
        }
        let events: [JSONValue] = i.log.all.map { e in
            .object([
                "index": int(e.index), "time": int(e.time.seconds), "code": int(e.code),
                "name": e.event.map { .string($0.name) } ?? .null, "origin_seq": int(e.originSeq),
                "origin_session": int(e.originSession), "value1": int(e.value1), "value2": int(e.value2),
            ])
        }
        let implant: JSONObject = [
            "model": int(i.model), "serial": .string(i.serial), "drug": i.drug.map { .string($0.name) } ?? .null,
            "concentration_ng_per_ml": int(i.concentration.raw), "reservoir_nl": int(i.reservoir.raw),
            "capacity_nl": int(i.capacity.raw), "low_alarm_nl": int(i.lowAlarm.raw),
            "pump_state": .string(i.state.name), "suspended": .bool(i.suspended), "infusing": .bool(i.infusing),
            "current_rate_ng_per_day": int(i.infusing ? i.activeRate.raw : 0), "program": program, "bolus": bolus,
            "next_bolus_id": int(i.nextBolusID), "alarms": int(i.alarms.bits),
            "alarm_names": .array(i.alarms.active.map { .string($0.name) }),
            "battery_months_left": int(i.batteryMonthsLeft), "device_time": int(i.deviceTime.seconds),
            "last_refill_time": int(i.lastRefill.seconds), "event_head": int(i.log.head), "events": .array(events),
        ]
        return .object([
            "sim_time_ms": int(simMs), "plugged": .bool(plugged), "link": linkPath.map { .string($0) } ?? .null,
            "telemetry": .bool(head.telemetry), "busy": int(head.busy), "session": .object(session),
            "implant": .object(implant),
        ])
    }
}
