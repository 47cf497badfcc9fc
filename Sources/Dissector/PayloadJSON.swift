import JSON
import Messages
import Wire

/// Payloads as JSON objects with the ICD's field names in snake_case: the
/// vocabulary of `pumpctl frame decode`, `frame encode` and captures. The
/// shapes match the `decoded` objects of the ICD's vectors.
enum PayloadJSON {
    static func int<T: BinaryInteger>(_ v: T) -> JSONValue { .int(Int64(v)) }

    static func request(_ r: Request) -> JSONObject {
        switch r {
        case .hello(let h): return ["host_nonce": .string(Hex.encode(h.hostNonce.bytes)), "max_payload": int(h.maxPayload)]
        case .ping, .getStatus, .getProgram, .cancelBolus, .suspend, .resume: return [:]
        case .stageProgram(let p): return program(p)
        case .commitProgram(let crc): return ["program_crc": int(crc)]
        case .startBolus(let b): return ["dose_ng": int(b.dose.raw), "duration_min": int(b.duration.raw)]
        case .refill(let r):
            return [
                "drug": int(r.drugCode), "zero8": int(r.zero8), "zero16": int(r.zero16),
                "concentration_ng_per_ml": int(r.concentration.raw), "reservoir_nl": int(r.reservoir.raw),
                "low_alarm_nl": int(r.lowAlarm.raw),
            ]
        case .setClock(let t): return ["unix_time_s": int(t.seconds)]
        case .readEvents(let q): return ["from_index": int(q.fromIndex), "max_count": int(q.maxCount)]
        case .ackAlarm(let bit): return ["alarm_bit": int(bit)]
        }
    }

    static func response(_ p: ResponsePayload) -> JSONObject {
        switch p {
        case .empty: return [:]
        case .hello(let h):
            return [
                "device_nonce": .string(Hex.encode(h.deviceNonce.bytes)), "protocol": int(h.protocolVersion),
                "fw_major": int(h.fwMajor), "fw_minor": int(h.fwMinor), "fw_patch": int(h.fwPatch),
                // Escaped (`\\`, `\xHH`): a serial that breaks §6 is shown as it is, not hidden.
                "programmer_serial": .string(h.programmerSerial.escaped), "implant_model": int(h.implantModel),
                "implant_serial": .string(h.implantSerial.escaped), "capabilities": int(h.capabilities),
                "max_payload": int(h.maxPayload),
            ]
        case .ping(let p): return ["uptime_s": int(p.uptimeSeconds), "telemetry": int(p.telemetry), "rssi_dbm": int(p.rssiDbm)]
        case .status(let s): return status(s)
        case .program(let p): return program(p)
        case .programCRC(let crc): return ["program_crc": int(crc)]
        case .bolusID(let id): return ["bolus_id": int(id)]
        case .delivered(let ng): return ["delivered_ng": int(ng.raw)]
        case .events(let events): return ["count": int(events.count), "events": .array(events.map { .object(event($0)) })]
        case .badSeq(let expected): return ["expected_seq": int(expected)]
        }
    }

    static func status(_ s: Status) -> JSONObject {
        var o: JSONObject = [
            "pump_state": int(s.pumpStateCode), "drug": int(s.drugCode), "alarms": int(s.alarms.bits),
            "concentration_ng_per_ml": int(s.concentration.raw), "reservoir_nl": int(s.reservoir.raw),
            "capacity_nl": int(s.capacity.raw), "low_alarm_nl": int(s.lowAlarm.raw),
            "current_rate_ng_per_day": int(s.currentRate.raw), "program_crc": int(s.programCRC),
            "bolus_remaining_ng": int(s.bolusRemaining.raw), "battery_mv": int(s.batteryMillivolts),
            "battery_months_left": int(s.batteryMonthsLeft), "device_time": int(s.deviceTime.seconds),
            "last_refill_time": int(s.lastRefillTime.seconds), "event_head": int(s.eventHead),
        ]
        o["pump_state_name"] = s.state.map { .string($0.name) } ?? .null
        o["alarm_names"] = .array(s.alarms.active.map { .string($0.name) })
        return o
    }

    static func program(_ p: ProgramRecord) -> JSONObject {
        var o: JSONObject = [:]
        o["mode"] = Program.Mode(rawValue: p.mode).map { .string($0.name) } ?? int(p.mode)
        o["steps"] = .array(
            p.steps.map { s in
                var step: JSONObject = ["start_min": int(s.startMin), "rate_ng_per_day": int(s.rate.raw)]
                if s.zero != 0 { step["zero"] = int(s.zero) }  // only a bad program shows it
                return .object(step)
            })
        o["utc_offset_min"] = int(p.utcOffsetMin)
        o["patient_bolus_ng"] = int(p.patientBolus.raw)
        o["patient_lockout_min"] = int(p.patientLockout.raw)
        o["patient_max_per_day"] = int(p.patientMaxPerDay)
        if p.reserved.contains(where: { $0 != 0 }) { o["reserved"] = .string(Hex.encode(p.reserved)) }
        return o
    }

    static func event(_ e: EventRecord) -> JSONObject {
        var o: JSONObject = [
            "index": int(e.index), "time": int(e.time.seconds), "code": int(e.code),
            "origin_seq": int(e.originSeq), "origin_session": int(e.originSession),
            "value1": int(e.value1), "value2": int(e.value2),
        ]
        o["name"] = e.event.map { .string($0.name) } ?? .null
        return o
    }

    /// A payload the ICD gives no fields for (an unknown opcode or status):
    /// nothing when empty, else its bytes.
    static func unknown(_ payload: [UInt8]) -> JSONObject {
        payload.isEmpty ? [:] : undecodable(payload)
    }

    /// A payload whose length does not fit its opcode: always its bytes, even
    /// none, so that it cannot be mistaken for a valid empty payload.
    static func undecodable(_ payload: [UInt8]) -> JSONObject {
        ["raw": .string(Hex.encode(payload))]
    }
}
