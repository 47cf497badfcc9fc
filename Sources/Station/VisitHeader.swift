import Audit
import DoseSafety
import Messages
import PumpCore
import Visits

/// The open visit as every page's header shows it: whose pump, which
/// implant, and, loudly, when the implant in session is another one (every
/// write is then refused by the core's wrong-patient guard until the person
/// confirms it). A viewer sees the visit but not who the patient is.
struct VisitHeader: Sendable {
    var visitId: String
    /// Nil for a role that may not read patients' records.
    var patientName: String?
    var patientIdentifier: String?
    /// The implant the visit confirmed.
    var implant: String
    /// The implant in session, when it is another one.
    var otherImplant: String?
    /// No implant is in session now.
    var noImplant: Bool
    var mayConfirm: Bool
    /// Ending the visit now would need an acknowledgement (judged on the
    /// cached status, without asking the pump: the visit page asks it).
    var unsafe: Bool

    /// The header for `session`'s role, or nil with no visit open.
    static func make(_ pump: PumpService, _ session: SessionStore.Session) async -> VisitHeader? {
        guard let visit = pump.openVisit() else { return nil }
        let who = Station.requester(session)
        let scope = pump.visitScope()
        let patient = try? pump.patient(visit.patientId, by: who)
        let inSession = scope.implant?.text
        var header = VisitHeader(
            visitId: visit.id, patientName: patient?.name, patientIdentifier: patient?.identifier, implant: visit.implantSerial,
            otherImplant: inSession.flatMap { $0 == visit.implantSerial ? nil : $0 }, noImplant: inSession == nil,
            mayConfirm: session.role.may("visit_confirm"), unsafe: false)
        if session.role.may("visit_end") { header.unsafe = await unsafe(pump, visit, implantInSession: inSession) }
        return header
    }

    /// The core's end conditions (`VisitEndCheck`) on what pumpd knows now.
    static func unsafe(_ pump: PumpService, _ visit: VisitRecord, implantInSession: String?) async -> Bool {
        guard implantInSession == visit.implantSerial, let (status, _) = pump.cachedStatus else { return true }
        var program: ProgramRecord?
        if status.programCRC != 0 {
            // The program found at the start, when it still runs; else the one pumpd pushed (or the pump's).
            if let before = visit.before.program, before.crc == status.programCRC {
                program = before
            } else {
                program = await pump.shownProgram(status)
            }
        }
        let commands = (try? pump.store.commands(visitId: visit.id)) ?? []
        return !VisitEndCheck.conditions(
            before: visit.before, status: status, program: program, commands: commands, uncertain: pump.pending.uncertainIDs()
        ).isEmpty
    }

    /// What a page says of a change refused by the wrong-patient guard (the
    /// core's sentence names pumpctl; here the banner's form is the way).
    static func wrongPatient(expected: String, found: String, visit: String) -> String {
        let head = found == "none" ? "No implant is under the programmer head" : "The implant under the programmer head is \(found)"
        return "\(head), but visit \(visit) confirmed the patient with implant \(expected): nothing was sent. Hold the head over that patient's pump and send it again; if the pump under the head is truly this patient's (it was replaced), confirm it in the red banner at the top of the page first."
    }

    var values: [String: Any] {
        var v: [String: Any] = ["id": visitId, "implant": implant, "no_implant": noImplant, "may_confirm": mayConfirm]
        if let patientName {
            v["patient_name"] = patientName
            v["patient_identifier"] = patientIdentifier ?? ""
        }
        if let otherImplant {
            v["other_implant"] = otherImplant
            v["wrong"] = true
        }
        return v
    }
}
