import API
import Audit
import JSON
import Messages
import PumpCore

/// The one mapping from a command's outcome to HTTP: the status and code
/// each outcome is answered with (its sentence is `OutcomeText`'s), and the
/// outcome as the API's JSON shows it.
extension CommandOutcome {
    /// The error a command with this outcome answers with, first and on
    /// every replay; nil when it did what was asked.
    func apiError(commandID id: String) -> APIError? {
        guard let message = sentence(commandID: id) else { return nil }
        switch self {
        case .succeeded, .applied, .capture, .accountChanged: return nil
        case .refused(let r, _): return APIError(r)
        case .unusedOverride(let u, _): return APIError(u)
        case .refusedByDevice: return APIError(422, .deviceRefused, message)
        case .notSent(let why):
            switch why {
            case .shuttingDown, .stoppedBeforeSending: return APIError(503, .shuttingDown, message)
            case .uncertainPending(let other, _): return APIError(409, .uncertainCommand, message, commandID: other)
            case .noSession, .linkRefused: return APIError(503, .deviceUnavailable, message)
            case .stateUnread(let f): return f.apiError
            case .invalid: return APIError(400, .outOfRange, message)
            case .notRecorded: return APIError(503, .auditUnavailable, message, commandID: id)
            case .wrongPatient: return APIError(409, .wrongPatient, message, commandID: id)
            }
        case .noAnswer: return APIError(503, .deviceUnavailable, message)
        case .uncertain: return APIError(202, .outcomeUncertain, message, commandID: id)
        case .notApplied: return APIError(409, .notApplied, message, commandID: id)
        case .readbackMismatch: return APIError(502, .readbackMismatch, message)
        case .actionRefused(let code, _, let field):
            let c = APIError.Code(rawValue: code) ?? .internal
            return APIError(APIError.status(of: c), c, message, field: field)
        }
    }

    /// An outcome answered without its command, as pumpd's own want rather
    /// than the request's fault: an attempt that could not be recorded, so
    /// was not sent (503 `audit_unavailable`, with Retry-After).
    func serviceRefusal(commandID id: String) -> ServiceRefusal? {
        guard case .notSent(.notRecorded) = self, let message = sentence(commandID: id) else { return nil }
        return ServiceRefusal.auditUnavailable(message, commandID: id)
    }

    /// The outcome as the API shows it in a command: the answer's fields,
    /// the events that settled it, or the error it answered with (and, for
    /// a dose refusal, every finding).
    func json(commandID id: String) -> JSONValue {
        switch self {
        case .succeeded(let answer):
            switch answer {
            case .done: return .object([:])
            case .bolusStarted(let bolus): return .object(["bolus_id": .int(Int64(bolus))])
            case .bolusCancelled(let delivered): return .object(["delivered": QuantityJSON.render(delivered.raw, .mass)])
            case .programCRC(let crc): return .object(["program_crc": .int(Int64(crc))])
            case .committed(let crc): return .object(["program_crc": .int(Int64(crc)), "readback": .string("identical")])
            }
        case .applied(let events): return .array(events.map(Answers.event))
        case .capture(let c): return CaptureRoutes.json(c)
        case .accountChanged(let note): return .object(["note": .string(note)])
        case .refused(_, let findings), .unusedOverride(_, let findings):
            guard case .object(var o)? = apiError(commandID: id)?.json else { return .null }
            o["findings"] = .array(findings.map(\.json))
            return .object(o)
        default:
            return apiError(commandID: id)?.json ?? .null
        }
    }
}

extension CommandOutcome.ReadFailure {
    var apiError: APIError {
        switch self {
        case .refused: APIError(422, .deviceRefused, sentence)
        case .notSent, .noAnswer: APIError(503, .deviceUnavailable, sentence)
        }
    }
}

extension CommandRecord {
    /// The error this command answers with when asked again: the one it
    /// first answered with, from its outcome; or, while it has none, what
    /// its state says.
    var apiError: APIError? {
        if let outcome {
            var e = outcome.apiError(commandID: id)
            if e != nil, e?.commandID == nil { e?.commandID = id }
            return e
        }
        switch state {
        case .succeeded, .applied, .failed: return nil
        case .uncertain: return APIError(202, .outcomeUncertain, note ?? "the outcome is uncertain", commandID: id)
        case .pending: return APIError(202, .outcomeUncertain, "the command is still on its way to the pump", commandID: id)
        case .notApplied: return APIError(409, .notApplied, note ?? "it did not run", commandID: id)
        }
    }

    /// A command as the API shows it.
    var json: JSONValue {
        var o: JSONObject = [
            "id": .string(id), "kind": .string(kind), "state": .string(state.rawValue),
            "final": .bool(state.isFinal),
            "created": .string(TimeText.isoMillis(createdMs)), "updated": .string(TimeText.isoMillis(updatedMs)),
            "requested_by": .object([
                "uid": .int(Int64(uid)), "gid": .int(Int64(gid)), "pid": .int(Int64(pid)),
                "account": account.map { .string($0) } ?? .null, "role": role.map { .string($0.rawValue) } ?? .null,
                "name": .string(requester.name),
            ]),
            "idempotency_key": idempotencyKey.map { .string($0) } ?? .null,
            "patient_id": patientId.map { .string($0) } ?? .null,
            "visit_id": visitId.map { .string($0) } ?? .null,
        ]
        // Rows pumpd wrote itself; a refused request's excerpt may be any text.
        o["request"] = (try? JSONValue.parse(request, boundingStrings: false)) ?? .string(request)
        o["frames"] = .array(attempts.map { a in
            .object(["session_tag": .int(Int64(a.sessionTag)), "seq": .int(Int64(a.seq)), "opcode": .string(a.opcode.name)])
        })
        o["device_status"] = deviceStatus.map { .string($0) } ?? .null
        if let outcome {
            o["outcome"] = outcome.json(commandID: id)
        } else {
            // Written before outcomes were typed: shown as it was recorded.
            o["outcome"] = legacyOutcome.flatMap { try? JSONValue.parse($0, boundingStrings: false) } ?? .null
        }
        o["note"] = note.map { .string($0) } ?? .null
        return .object(o)
    }
}

extension APIError {
    /// A refusal by pumpd itself, as the trail records it.
    var refusedAction: CommandOutcome { .actionRefused(code: code.rawValue, message: message, field: field) }
}
