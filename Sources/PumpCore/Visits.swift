import Audit
import DoseSafety
import Foundation
import Messages
import Visits

/// Which patient and visit a command or event belongs to, and which
/// implant a write may go to.
public struct VisitScope: Sendable, Hashable {
    public var patientId: String?
    public var visitId: String?
    /// The implant the open visit confirmed (writes go to no other).
    public var visitImplant: String?
    /// The implant in session now (nil: none in range, or no session yet).
    public var implant: SerialNumber?
}

/// A visit operation refused, with what to do.
public struct VisitRefusal: Error, Sendable {
    public enum Code: String, Sendable {
        case forbidden, noImplant, unknownPatient, wrongPatient, implantTaken, visitOpen, unknownVisit, visitEnded
        case acknowledgementRequired, deviceUnavailable, auditUnavailable, storeFailed
    }
    public var code: Code
    public var message: String
    public var commandID: String?
    public var conditions: [VisitRecord.Condition] = []
    public var field: String?
    /// The read that failed, when that is why: the edge answers it as any failed read (a device refusal is not "unavailable").
    public var readFailure: CommandOutcome.ReadFailure?
}

/// The clinical visit in the core, for the API and the station alike:
/// patients' records, the visit's start (the patient confirmed for the
/// implant in session, the clock checked), the wrong-patient guard's
/// re-confirmation, the end (which may not quietly leave the pump stopped),
/// the post-MRI check and the report.
extension PumpService {
    // MARK: scope

    public func visitScope() -> VisitScope {
        let implant = snapshot.withLock { s in s.hello.flatMap { $0.implantModel == 0 ? nil : $0.implantSerial } }
        let open = try? store.openVisit()
        if let v = open ?? nil {
            return VisitScope(patientId: v.patientId, visitId: v.id, visitImplant: v.implantSerial, implant: implant)
        }
        let patient = implant?.text.flatMap { try? store.patient(implantSerial: $0) } ?? nil
        return VisitScope(patientId: patient?.id, implant: implant)
    }

    /// The open visit, if any.
    public func openVisit() -> VisitRecord? { (try? store.openVisit()) ?? nil }

    // MARK: patients

    /// Adds a patient's record (clinicians and nurses), audited without the person's data.
    public func addPatient(by who: Requester, _ make: (String) -> PatientRecord) throws(VisitRefusal) -> PatientRecord {
        try allowed("patient_add", by: who, request: "{}")
        let p: PatientRecord
        do {
            p = try store.addPatient(make)
        } catch {
            throw refusal(error)
        }
        _ = auditLocal(
            kind: "patient_add", request: Self.requestText(["patient": p.id, "implant_serial": p.implantSerial]), by: who,
            note: "patient record \(p.id) added for implant \(p.implantSerial)", outcome: .succeeded(.done), patientId: p.id)
        logger.notice("patient record added", metadata: ["patient": "\(p.id)", "by": "\(who.name)"])
        return p
    }

    /// Replaces a patient's record: `change` gets the current one.
    public func updatePatient(_ id: String, by who: Requester, _ change: (inout PatientRecord) -> Void) throws(VisitRefusal) -> PatientRecord {
        try allowed("patient_update", by: who, request: Self.requestText(["patient": id]))
        guard var p = ((try? store.patient(id)) ?? nil) else { throw VisitRefusal(code: .unknownPatient, message: "no patient record \(id); list them with pumpctl patient list") }
        change(&p)
        p.id = id
        p.updatedMs = Self.nowMs()
        p.changedBy = who.name
        do { try store.updatePatient(p) } catch { throw refusal(error) }
        _ = auditLocal(
            kind: "patient_update", request: Self.requestText(["patient": p.id, "implant_serial": p.implantSerial]), by: who,
            note: "patient record \(p.id) changed", outcome: .succeeded(.done), patientId: p.id)
        return p
    }

    /// A patient's record, for clinicians and nurses only.
    public func patient(_ id: String, by who: Requester) throws(VisitRefusal) -> PatientRecord {
        try readable(by: who)
        guard let p = ((try? store.patient(id)) ?? nil) else { throw VisitRefusal(code: .unknownPatient, message: "no patient record \(id); list them with pumpctl patient list") }
        return p
    }

    public func patients(by who: Requester) throws(VisitRefusal) -> [PatientRecord] {
        try readable(by: who)
        do { return try store.patients() } catch { throw refusal(error) }
    }

    /// Patient data is for clinicians and nurses (never a viewer); reading it is not audited.
    public func readable(by who: Requester) throws(VisitRefusal) {
        guard may("patient_read", by: who) else {
            throw VisitRefusal(code: .forbidden, message: "\(Self.forbiddenMessage("patient_read", by: who)); patients' records are for clinicians and nurses")
        }
    }

    // MARK: the visit

    public struct VisitStart: Sendable {
        public var visit: VisitRecord
        public var patient: PatientRecord
        public var proposals: [ClockCheck.Proposal]
        public var commandID: String?
    }

    /// Starts a visit: the person confirms `patientId` for the implant in
    /// session, whose record must name it; reads the pump as found and
    /// checks its clock and the program's UTC offset against the station's time zone.
    public func startVisit(patientId: String, by who: Requester) async throws(VisitRefusal) -> VisitStart {
        let request = Self.requestText(["patient": patientId])
        try allowed("visit_start", by: who, request: request)
        guard let patient = ((try? store.patient(patientId)) ?? nil) else {
            throw VisitRefusal(code: .unknownPatient, message: "no patient record \(patientId); add one with pumpctl patient add, or list them with pumpctl patient list", field: "patient")
        }
        let implant = try implantInSession()
        guard implant == patient.implantSerial else {
            let other = ((try? store.patient(implantSerial: implant)) ?? nil)?.id
            throw VisitRefusal(
                code: .wrongPatient,
                message: "the implant under the programmer head is \(implant)\(other.map { " (patient record \($0))" } ?? ""), but patient \(patientId)'s record names implant \(patient.implantSerial). Hold the head over this patient's pump, or choose the patient whose pump it is",
                field: "patient")
        }
        let before = try await pumpState()
        let zone = TimeZone.current
        let check = ClockCheck.check(
            deviceTime: before.status.deviceTime, hostSeconds: Self.nowMs() / 1000, program: before.program,
            localOffsetMin: zone.secondsFromGMT(for: Date()) / 60, zone: zone.identifier)
        let visit: VisitRecord
        do {
            visit = try store.openVisit { id in
                VisitRecord(
                    id: id, patientId: patient.id, implantSerial: implant, startedMs: Self.nowMs(), startedBy: who.name, before: before,
                    startFindings: check.findings)
            }
        } catch {
            throw refusal(error)
        }
        let cid = auditLocal(
            kind: "visit_start", request: request, by: who,
            note: "visit \(visit.id) started for patient \(patient.id), implant \(implant)\(check.findings.isEmpty ? "" : "; found: \(check.findings.map(\.rule).joined(separator: ", "))")",
            outcome: .succeeded(.done), patientId: patient.id, visitId: visit.id)
        logger.notice("visit started", metadata: ["visit": "\(visit.id)", "patient": "\(patient.id)", "by": "\(who.name)"])
        return VisitStart(visit: visit, patient: patient, proposals: check.proposals, commandID: cid)
    }

    /// The person confirms that the implant now in session is the visit's
    /// patient's (the pump was replaced): the record takes its serial and
    /// writes go to it. `implant` must name the implant in session, so the
    /// confirmation is never given blind.
    public func confirmImplant(visitId: String, implant stated: String, by who: Requester) throws(VisitRefusal) -> VisitRecord {
        let request = Self.requestText(["visit": visitId, "implant_serial": stated])
        try allowed("visit_confirm", by: who, request: request)
        var visit = try openVisit(visitId)
        let implant = try implantInSession()
        guard stated == implant else {
            throw VisitRefusal(code: .wrongPatient, message: "the implant in session is \(implant), not \(stated): confirm the implant you see, or hold the head over the patient's pump", field: "implant_serial")
        }
        if implant != visit.implantSerial {
            do {
                let old: String
                (visit, old) = try store.confirmImplant(visitId, implant: implant, changedBy: who.name, nowMs: Self.nowMs())
                _ = auditLocal(
                    kind: "visit_confirm", request: request, by: who,
                    note: "the implant \(implant) confirmed as patient \(visit.patientId)'s in visit \(visitId) (was \(old))",
                    outcome: .succeeded(.done), patientId: visit.patientId, visitId: visitId)
            } catch {
                throw refusal(error)
            }
        }
        return visit
    }

    /// What ending the visit now would leave unsaid (each needs an acknowledgement).
    public func endConditions(visitId: String) async throws(VisitRefusal) -> ([VisitRecord.Condition], VisitRecord.PumpState?) {
        let visit = try openVisit(visitId)
        let uncertain = pending.uncertainIDs()
        guard (try? implantInSession()) == visit.implantSerial else {
            return ([VisitRecord.Condition(code: "pump_unchecked", message: "the patient's pump is not under the programmer head, so how it is left could not be checked")]
                + (uncertain.isEmpty ? [] : [VisitRecord.Condition(code: "uncertain_command", message: "commands \(uncertain.joined(separator: ", ")) have an uncertain outcome")]), nil)
        }
        let now: VisitRecord.PumpState
        do throws(VisitRefusal) { now = try await pumpState() } catch {
            return ([VisitRecord.Condition(code: "pump_unchecked", message: "the pump could not be read (\(error.message)), so how it is left is not known")], nil)
        }
        let commands = (try? store.commands(visitId: visitId)) ?? []
        return (VisitEndCheck.conditions(before: visit.before, status: now.status, program: now.program, commands: commands, uncertain: uncertain), now)
    }

    /// Ends the visit. When the pump would be left stopped, without a
    /// program, below the dose it had, or with an uncertain command, the
    /// end needs `reason` (recorded with the conditions it acknowledges).
    public func endVisit(visitId: String, reason: String?, by who: Requester) async throws(VisitRefusal) -> VisitRecord {
        let request = Self.requestText(["visit": visitId], acknowledged: reason != nil)
        try allowed("visit_end", by: who, request: request)
        let (conditions, after) = try await endConditions(visitId: visitId)
        var ack: VisitRecord.Acknowledgement?
        if !conditions.isEmpty {
            guard let reason, !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw VisitRefusal(
                    code: .acknowledgementRequired,
                    message: "the visit cannot end quietly: \(conditions.map(\.message).joined(separator: "; ")). Fix it, or end the visit acknowledging it with a reason (pumpctl visit end \(visitId) --acknowledge REASON)",
                    conditions: conditions, field: "acknowledge")
            }
            ack = VisitRecord.Acknowledgement(conditions: conditions, reason: reason)
        }
        let visit: VisitRecord
        do {
            visit = try store.endVisit(visitId, endedMs: Self.nowMs(), by: who.name, after: after, acknowledgement: ack)
        } catch {
            throw refusal(error)
        }
        let note = ack.map { "visit \(visitId) ended acknowledging \($0.conditions.map(\.code).joined(separator: ", ")): \"\($0.reason)\"" }
            ?? "visit \(visitId) ended"
        _ = auditLocal(kind: "visit_end", request: request, by: who, note: note, outcome: .succeeded(.done), patientId: visit.patientId, visitId: visitId)
        logger.notice("visit ended", metadata: ["visit": "\(visitId)", "by": "\(who.name)", "acknowledged": "\(ack?.conditions.map(\.code).joined(separator: ",") ?? "-")"])
        return visit
    }

    /// After an MRI: interrogates the pump (which is what restarts a
    /// stalled SynchroMed), reads the last day's events, and records whether it resumed.
    public func mriCheck(by who: Requester) async throws(VisitRefusal) -> (MRICheck, String?) {
        try allowed("mri_check", by: who, request: "{}")
        let status: Status
        switch await refreshStatus() {
        case .success(let s): status = s
        case .failure(let f): throw VisitRefusal(code: .deviceUnavailable, message: f.sentence, readFailure: f)
        }
        link.readEvents()
        let dayAgo = status.deviceTime.seconds - 86_400
        let events = ((try? store.events(before: nil, limit: 1000, from: dayAgo)) ?? []).reversed()
        let check = MRICheck.assess(status: status, events: Array(events))
        let scope = visitScope()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: (try? encoder.encode(check)) ?? Data("{}".utf8), as: UTF8.self)
        let id = auditLocal(
            kind: "mri_check", request: json, by: who, note: "post-MRI check: \(check.resumed ? "resumed" : "NOT resumed"): \(check.sentence)",
            outcome: .succeeded(.done), patientId: scope.patientId, visitId: scope.visitId)
        return (check, id)
    }

    /// The visit's report, from the trail (and, while it is open, the pump now).
    public func visitReport(_ visitId: String, by who: Requester) async throws(VisitRefusal) -> VisitReport {
        try readable(by: who)
        guard let visit = ((try? store.visit(visitId)) ?? nil) else {
            throw VisitRefusal(code: .unknownVisit, message: "no visit \(visitId); list them with pumpctl visit list")
        }
        guard let patient = ((try? store.patient(visit.patientId)) ?? nil) else {
            throw VisitRefusal(code: .unknownPatient, message: "visit \(visitId)'s patient record \(visit.patientId) is missing")
        }
        let commands: [CommandRecord]
        do { commands = try store.commands(visitId: visitId) } catch { throw refusal(error) }
        var last = visit.after
        if visit.isOpen, (try? implantInSession()) == visit.implantSerial {
            last = try? await pumpState()
        }
        // No reading, no "after": the pump as found is never passed off as the pump as left.
        return VisitReport(patient: patient, visit: visit, commands: commands, last: last)
    }

    // MARK: parts

    func allowed(_ kind: String, by who: Requester, request: String) throws(VisitRefusal) {
        guard may(kind, by: who) else {
            let f = forbid(kind, by: who, request: request, path: kind, advice: "nothing changed")
            throw VisitRefusal(code: .forbidden, message: f.message, commandID: f.commandID)
        }
    }

    func openVisit(_ id: String) throws(VisitRefusal) -> VisitRecord {
        guard let v = ((try? store.visit(id)) ?? nil) else {
            throw VisitRefusal(code: .unknownVisit, message: "no visit \(id); list them with pumpctl visit list")
        }
        guard v.isOpen else { throw VisitRefusal(code: .visitEnded, message: "visit \(id) has ended; start a new one with pumpctl visit start") }
        return v
    }

    /// The implant in session's serial, or why there is none.
    func implantInSession() throws(VisitRefusal) -> String {
        let (hello, up, note) = snapshot.withLock { ($0.hello, $0.linkUp, $0.linkNote) }
        guard up, let hello else {
            throw VisitRefusal(code: .deviceUnavailable, message: DeviceAdvice.unavailable("no session with the programmer head (\(note))"))
        }
        guard hello.implantModel != 0, let serial = hello.implantSerial.text else {
            throw VisitRefusal(code: .noImplant, message: "no implant is in range of the programmer head: hold it over the patient's pump and try again")
        }
        return serial
    }

    /// The pump now: a fresh status and its program.
    func pumpState() async throws(VisitRefusal) -> VisitRecord.PumpState {
        let status: Status
        switch await refreshStatus() {
        case .success(let s): status = s
        case .failure(let f): throw VisitRefusal(code: .deviceUnavailable, message: f.sentence, readFailure: f)
        }
        var program: ProgramRecord?
        if status.programCRC != 0 {
            switch await readProgram() {
            case .success(let p): program = p
            case .failure(let f): throw VisitRefusal(code: .deviceUnavailable, message: f.sentence, readFailure: f)
            }
        }
        return VisitRecord.PumpState(status: status, program: program, atMs: Self.nowMs())
    }

    /// A request as the trail keeps it: JSON text whose values are escaped,
    /// so an id or serial sent by anyone cannot add fields to the record.
    static func requestText(_ fields: KeyValuePairs<String, String>, acknowledged: Bool = false) -> String {
        var parts = fields.map { "\"\($0.key)\":\(jsonString($0.value))" }
        if acknowledged { parts.append(#""acknowledged":true"#) }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// `s` as a JSON string: quotes, backslashes and control characters escaped.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    func refusal(_ error: any Error) -> VisitRefusal {
        switch error {
        case AuditStore.PatientFailure.implantTaken(let other):
            VisitRefusal(code: .implantTaken, message: "patient record \(other) already names this implant; one record per pump (change that record instead)", field: "implant_serial")
        case AuditStore.PatientFailure.unknownPatient(let id): VisitRefusal(code: .unknownPatient, message: "no patient record \(id)")
        case AuditStore.PatientFailure.unknownVisit(let id): VisitRefusal(code: .unknownVisit, message: "no visit \(id)")
        case AuditStore.PatientFailure.visitOpen(let id):
            VisitRefusal(code: .visitOpen, message: "visit \(id) is still open; end it first (pumpctl visit end \(id)): one visit at a time per station")
        case AuditStore.PatientFailure.visitEnded(let id): VisitRefusal(code: .visitEnded, message: "visit \(id) has ended already")
        case AuditStore.Failure.unavailable(let why):
            VisitRefusal(code: .auditUnavailable, message: "the audit store cannot record it (\(why)); nothing changed. Free space in the data dir \(settings.dataDir)")
        default: VisitRefusal(code: .storeFailed, message: "the audit store failed (\(error)); see pumpd's log")
        }
    }
}

extension PumpService {
    /// How the old drug in the catheter clears under `proposed`, when the
    /// open visit began with another drug or concentration than the pump
    /// holds now; with the findings to add to the review (one saying the
    /// catheter's volume is missing from the record, when it is).
    func drugChangeClearance(proposed: ProgramRecord, status: Status) -> (CatheterClearance?, [Finding]) {
        guard let visit = openVisit() else { return (nil, []) }
        let before = visit.before.status
        guard before.loadedDrug != nil, before.loadedDrug != status.loadedDrug || before.concentration != status.concentration else { return (nil, []) }
        guard let patient = ((try? store.patient(visit.patientId)) ?? nil), let catheter = patient.catheter, let volume = catheter.volume else {
            return (nil, [Finding(
                severity: .info, rule: "drug_change.catheter_unknown", field: nil,
                message: "the drug or its concentration changed in this visit, but patient \(visit.patientId)'s record has no catheter volume, so how long the old drug takes to clear, and at what dose, cannot be said. Add the catheter to the record (pumpctl patient, or the station's patient page)",
                source: "the catheter's volume from the patient's record")])
        }
        let c = CatheterClearance.assess(
            oldDrug: before.loadedDrug, oldConcentration: before.concentration, oldProgram: visit.before.program,
            newDrug: status.loadedDrug, newConcentration: status.concentration, proposed: proposed, catheterVolume: volume,
            catheterVolumeSource: catheter.volumeSource, pumpPathVolume: settings.pumpPathVolume,
            usualUnit: { [library] d in d.flatMap { library?.entry($0)?.displayUnit } })
        return (c, c?.findings ?? [])
    }

    /// The bridge bolus for the program the pump runs now, after a drug change in the visit.
    public func bridgeBolus(visitId: String, by who: Requester) async throws(VisitRefusal) -> CatheterClearance? {
        try readable(by: who)
        let visit = try openVisit(visitId)
        guard (try? implantInSession()) == visit.implantSerial else {
            throw VisitRefusal(code: .wrongPatient, message: "the pump under the head is not visit \(visitId)'s patient's")
        }
        let now = try await pumpState()
        guard let program = now.program else { return nil }  // no program yet: nothing pushes the old drug out
        return drugChangeClearance(proposed: program, status: now.status).0
    }
}

extension PatientRecord {
    /// The catheter as DoseSafety reckons with it (nil when the record has none).
    public var catheter: Catheter? {
        guard catheterVolumeNl != nil || (catheterLengthMm != nil && catheterNanolitresPerCm != nil) else { return nil }
        return Catheter(
            implantedLengthMm: catheterLengthMm.map { UInt32(clamping: $0) }, nanolitresPerCm: catheterNanolitresPerCm.map { UInt32(clamping: $0) },
            totalVolume: catheterVolumeNl.map { Nanolitres(UInt64(clamping: $0)) })
    }
}
