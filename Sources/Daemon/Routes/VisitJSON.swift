import API
import Audit
import DoseSafety
import JSON
import Messages
import PumpCore
import Visits

/// Patients, visits, the post-MRI check and the visit report as the API shows them.
enum VisitJSON {
    static func patient(_ p: PatientRecord, refills: [CommandRecord]? = nil) -> JSONValue {
        var catheter: JSONObject = [
            "implanted_length": p.catheterLengthMm.map { QuantityJSON.render(UInt64(clamping: $0), .length) } ?? .null,
            "volume_per_length": p.catheterNanolitresPerCm.map { QuantityJSON.render(UInt64(clamping: $0), .volumePerLength) } ?? .null,
            "total_volume": p.catheterVolumeNl.map { QuantityJSON.render(UInt64(clamping: $0), .volume) } ?? .null,
        ]
        catheter["volume"] = p.catheter?.volume.map { QuantityJSON.render($0.raw, .volume) } ?? .null  // DoseSafety's Catheter reckons it
        var o: JSONObject = [
            "id": .string(p.id), "implant_serial": .string(p.implantSerial), "name": .string(p.name), "identifier": .string(p.identifier),
            "implant_date": p.implantDate.map { .string($0) } ?? .null, "pump_model": p.pumpModel.map { .string($0) } ?? .null,
            "catheter": .object(catheter),
            "created": .string(TimeText.isoMillis(p.createdMs)), "updated": .string(TimeText.isoMillis(p.updatedMs)),
            "changed_by": .string(p.changedBy),
        ]
        if let refills {
            o["drug_history"] = .array(refills.compactMap { c in
                guard case .refill(let r, _)? = c.plan else { return nil }
                return .object([
                    "command_id": .string(c.id), "at": .string(TimeText.isoMillis(c.createdMs)),
                    "drug": r.drug.map { .string($0.name) } ?? .null,
                    "concentration": QuantityJSON.render(r.concentration.raw, .concentration),
                    "reservoir": QuantityJSON.render(r.reservoir.raw, .volume),
                    "by": .string(c.requester.name),
                ])
            })
        }
        return .object(o)
    }

    static func pumpState(_ s: VisitRecord.PumpState) -> JSONValue {
        .object([
            "at": .string(TimeText.isoMillis(s.atMs)),
            "status": .object(Answers.status(s.status)),
            "program": s.program.map(ProgramJSON.render) ?? .null,
            "average_daily_dose": s.program.map { QuantityJSON.render(Schedule.averageDailyDose($0).raw, .massPerDay) } ?? .null,
        ])
    }

    static func visit(_ v: VisitRecord, proposals: [ClockCheck.Proposal]? = nil) -> JSONValue {
        var o: JSONObject = [
            "id": .string(v.id), "patient_id": .string(v.patientId), "implant_serial": .string(v.implantSerial), "open": .bool(v.isOpen),
            "started": .string(TimeText.isoMillis(v.startedMs)), "started_by": .string(v.startedBy),
            "before": pumpState(v.before),
            "start_findings": .array(v.startFindings.map(\.json)),
            "ended": v.endedMs.map { .string(TimeText.isoMillis($0)) } ?? .null,
            "ended_by": v.endedBy.map { .string($0) } ?? .null,
            "after": v.after.map(pumpState) ?? .null,
            "acknowledgement": v.acknowledgement.map { a in
                .object(["conditions": conditions(a.conditions), "reason": .string(a.reason)])
            } ?? .null,
        ]
        if let proposals { o["proposals"] = .array(proposals.map(proposal)) }
        return .object(o)
    }

    static func conditions(_ c: [VisitRecord.Condition]) -> JSONValue {
        .array(c.map { .object(["code": .string($0.code), "message": .string($0.message)]) })
    }

    static func proposal(_ p: ClockCheck.Proposal) -> JSONValue {
        switch p {
        case .clockSync:
            .object(["kind": .string("clock_sync"), "method": .string("POST"), "path": .string("/v1/clock/sync")])
        case .retimed(let program):
            .object([
                "kind": .string("retimed_program"), "method": .string("PUT"), "path": .string("/v1/program"),
                "review_path": .string("/v1/program/review"), "program": body(program),
            ])
        }
    }

    /// A program as a body `PUT /v1/program` takes (its CRC is the pump's to compute).
    static func body(_ p: ProgramRecord) -> JSONValue {
        guard case .object(var o) = ProgramJSON.render(p) else { return ProgramJSON.render(p) }
        o["program_crc"] = nil
        return .object(o)
    }

    static func mri(_ m: MRICheck, commandID: String?) -> JSONValue {
        .object([
            "resumed": .bool(m.resumed), "stalled": .bool(m.stalled), "stall_cleared": .bool(m.stallCleared),
            "stall_active": .bool(m.stallActive), "pump_state": .string(m.pumpState),
            "evidence": .array(m.evidence.map { .int($0) }), "message": .string(m.sentence),
            "command_id": commandID.map { .string($0) } ?? .null,
        ])
    }

    static func report(_ r: VisitReport) -> JSONValue {
        var o: JSONObject = [:]
        o["patient"] = patient(r.patient)
        o["implant"] = .object([
            "serial": .string(r.visit.implantSerial), "model": r.patient.pumpModel.map { .string($0) } ?? .null,
            "implant_date": r.patient.implantDate.map { .string($0) } ?? .null,
        ])
        o["visit"] = visit(r.visit)
        o["before"] = pumpState(r.visit.before)
        o["after"] = r.last.map(pumpState) ?? .null
        o["commands"] = .array(r.commands.map(\.json))
        o["reviews"] = .array(r.confirmedReviews.map(reviewJSON))
        o["overrides"] = .array(r.overrides.map(overrideJSON))
        o["reconciliations"] = .array(r.commands.compactMap(reconciliationJSON))
        let projection = r.projection
        o["low_reservoir_at"] = projection?.lowAt.map { .string(TimeText.iso($0)) } ?? .null
        o["empty_at"] = projection?.emptyAt.map { .string(TimeText.iso($0)) } ?? .null
        o["next_refill_at"] = r.nextRefillAt.map { .string(TimeText.iso($0)) } ?? .null
        o["next_refill_rule"] = .string(VisitReport.refillReserveSource + "; or the low-reservoir alarm level, whichever comes first")
        return .object(o)
    }

    static func reviewJSON(_ c: CommandRecord, _ review: Review) -> JSONValue {
        .object(["command_id": .string(c.id), "state": .string(c.state.rawValue), "by": .string(c.requester.name), "review": review.json])
    }

    static func overrideJSON(_ o: VisitReport.Override) -> JSONValue {
        .object(["command_id": .string(o.commandId), "limit": .string(o.rule), "reason": .string(o.reason), "by": .string(o.by)])
    }

    /// A refill's reconciliation: what its review found of the volume withdrawn.
    static func reconciliationJSON(_ c: CommandRecord) -> JSONValue? {
        guard c.kind == "refill", let findings = c.review?.findings else { return nil }
        guard let f = findings.first(where: { $0.rule.hasPrefix("refill.volume") || $0.rule == "refill.reconciled" }) else { return nil }
        return .object(["command_id": .string(c.id), "finding": f.json])
    }
}

extension VisitRefusal {
    var apiError: APIError {
        if let readFailure { return readFailure.apiError }
        let code: APIError.Code =
            switch self.code {
            case .forbidden: .forbidden
            case .noImplant: .noImplant
            case .unknownPatient: .unknownPatient
            case .wrongPatient: .wrongPatient
            case .implantTaken: .implantTaken
            case .visitOpen: .visitOpen
            case .unknownVisit: .unknownVisit
            case .visitEnded: .visitEnded
            case .acknowledgementRequired: .acknowledgementRequired
            case .deviceUnavailable: .deviceUnavailable
            case .auditUnavailable: .auditUnavailable
            case .storeFailed: .internal
            }
        let status = code == .auditUnavailable ? 503 : APIError.status(of: code)
        return APIError(status, code, message, field: field, commandID: commandID)
    }
}
