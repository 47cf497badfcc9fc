import API
import Messages

/// What a device status means for the person who asked, and what to do next.
enum DeviceAnswers {
    static func advice(_ s: StatusCode) -> String {
        switch s {
        case .telemetryLost: "the implant is out of range of the programmer head: place the head over the implant and send the command again; nothing was done"
        case .limit: "a device hard limit (ICD §10) would be exceeded; nothing was done. Check the flow against the loaded concentration"
        case .noStagedProgram, .crcMismatch: "the staged program was lost before the commit (another host, or a refill); nothing was committed: push the program again"
        case .noDrug: "no drug is loaded: refill the pump first"
        case .pumpFault: "the pump cannot infuse (motor stall, end of service or empty reservoir): see the alarms in `pumpctl status`"
        case .bolusActive: "a bolus is running: wait for it to end or cancel it first"
        case .noBolus: "no bolus is running, so there is nothing to cancel"
        case .noProgram: "there is no active program (never programmed, or cleared by a refill with a new drug or concentration): push a program first"
        case .badParam: "the pump refused a field as out of range; nothing was done"
        case .internal: "the device reported an internal error; nothing was done. Try again; if it repeats, call service"
        case .busy: "the device stayed busy; nothing was done. Try again shortly"
        default: "the device refused the request (\(s.name)); nothing was done"
        }
    }

    static func refused(_ s: StatusCode) -> APIError {
        APIError(422, .deviceRefused, "the pump answered \(s.name): \(advice(s))")
    }

    static func unavailable(_ why: String) -> APIError {
        APIError(503, .deviceUnavailable, "\(why). Check that the programmer head is plugged in and over the implant (`pumpctl device`), then try again")
    }
}
