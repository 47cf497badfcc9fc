import JSON
import Messages

/// The JSON of what the pump reports: status, events, identity. Quantities
/// carry units; codes carry their ICD names beside their numbers.
public enum Answers {
    public static func status(_ s: Status) -> JSONObject {
        [
            "pump_state": .string(s.state?.name ?? "unknown(\(s.pumpStateCode))"),
            "drug": s.loadedDrug.map { .string($0.name) } ?? .null,
            "alarms": .array(s.alarms.active.map { .string($0.name) }),
            "concentration": QuantityJSON.render(s.concentration.raw, .concentration),
            "reservoir": QuantityJSON.render(s.reservoir.raw, .volume),
            "capacity": QuantityJSON.render(s.capacity.raw, .volume),
            "low_alarm": QuantityJSON.render(s.lowAlarm.raw, .volume),
            "current_rate": QuantityJSON.render(s.currentRate.raw, .massPerDay),
            "program_crc": .int(Int64(s.programCRC)),
            "bolus_remaining": QuantityJSON.render(s.bolusRemaining.raw, .mass),
            "battery": .object([
                "millivolts": .int(Int64(s.batteryMillivolts)),
                "months_left": .int(Int64(s.batteryMonthsLeft)),
            ]),
            "device_time": .string(TimeText.iso(s.deviceTime.seconds)),
            "device_time_s": .int(s.deviceTime.seconds),
            "last_refill_time": s.lastRefillTime.seconds == 0 ? .null : .string(TimeText.iso(s.lastRefillTime.seconds)),
            "event_head": .int(Int64(s.eventHead)),
        ]
    }

    /// One event, with its values named after the ICD's table (§8).
    public static func event(_ e: EventRecord) -> JSONValue {
        let code = e.event
        var o: JSONObject = [
            "index": .int(Int64(e.index)),
            "time": .string(TimeText.iso(e.time.seconds)),
            "time_s": .int(e.time.seconds),
            "code": .int(Int64(e.code)),
            "name": code.map { .string($0.name) } ?? .null,
        ]
        o["origin"] = e.isDeviceOwn
            ? .null : .object(["session_tag": .int(Int64(e.originSession)), "seq": .int(Int64(e.originSeq))])
        o["value1"] = .int(Int64(e.value1))
        o["value2"] = .int(Int64(e.value2))
        var details = JSONObject()
        switch code {
        case .programCommitted: details["program_crc"] = .int(Int64(e.value1))
        case .bolusStarted:
            details["dose"] = QuantityJSON.render(UInt64(e.value1), .mass)
            details["bolus_id"] = .int(Int64(e.value2))
        case .bolusCompleted, .bolusCancelled:
            details["delivered"] = QuantityJSON.render(UInt64(e.value1), .mass)
            details["bolus_id"] = .int(Int64(e.value2))
        case .refilled:
            details["reservoir"] = QuantityJSON.render(UInt64(e.value1), .volume)
            details["concentration"] = QuantityJSON.render(UInt64(e.value2), .concentration)
        case .patientBolus: details["dose"] = QuantityJSON.render(UInt64(e.value1), .mass)
        case .alarmRaised, .alarmCleared, .alarmAcked:
            details["alarm"] = AlarmBit(rawValue: UInt16(truncatingIfNeeded: e.value1)).map { .string($0.name) } ?? .int(Int64(e.value1))
        default: break
        }
        if !details.keys.isEmpty { o["details"] = .object(details) }
        return .object(o)
    }


    public static func hello(_ h: HelloReply) -> JSONObject {
        [
            "programmer": .object([
                "serial": .string(h.programmerSerial.text ?? h.programmerSerial.escaped),
                "firmware": .string("\(h.fwMajor).\(h.fwMinor).\(h.fwPatch)"),
                "protocol": .int(Int64(h.protocolVersion)),
                "max_payload": .int(Int64(h.maxPayload)),
            ]),
            "implant": h.implantModel == 0
                ? .null
                : .object([
                    "model": .string("IP\(h.implantModel)"),
                    "capacity": QuantityJSON.render(UInt64(h.implantModel) * 1_000_000, .volume),
                    "serial": .string(h.implantSerial.text ?? h.implantSerial.escaped),
                ]),
        ]
    }
}
