import Audit
import DoseSafety
import Messages

/// What must not end a visit quietly: the pump stopped, left without a
/// program, on less than it had without a review that said so, or a
/// command whose outcome is unknown. Each one needs an acknowledgement with
/// a reason (eight patients were left without therapy after incomplete
/// SynchroMed II updates, HSA Singapore).
public enum VisitEndCheck {
    public typealias Condition = VisitRecord.Condition

    /// - Parameters:
    ///   - before: the pump when the visit began.
    ///   - status, program: the pump now.
    ///   - commands: the visit's commands.
    ///   - uncertain: ids of commands whose outcome is still uncertain (any visit).
    public static func conditions(
        before: VisitRecord.PumpState, status: Status, program: ProgramRecord?, commands: [CommandRecord], uncertain: [String]
    ) -> [Condition] {
        var out: [Condition] = []
        switch status.state {
        case .suspended?:
            out.append(Condition(code: "pump_suspended", message: "the pump is suspended: the patient receives no drug until it is resumed"))
        case .motorStalled?, .endOfService?, .reservoirEmpty?:
            out.append(Condition(code: "pump_not_infusing", message: "the pump cannot infuse (\(status.state?.name ?? "")): the patient receives no drug"))
        default: break
        }
        if status.loadedDrug != nil, status.programCRC == 0 {
            out.append(Condition(code: "no_program", message: "the pump has no program (a refill with another drug or concentration clears it): it cannot run until one is committed"))
        }
        if let old = before.program, let new = program, before.status.drugCode == status.drugCode,
            Schedule.averageDailyDose(new) < Schedule.averageDailyDose(old)
        {
            let reviewed = commands.contains { $0.kind == "program" && ($0.state == .succeeded || $0.state == .applied) && $0.review != nil }
            if !reviewed {
                out.append(Condition(
                    code: "below_pre_visit_dose",
                    message: "the program gives \(Schedule.averageDailyDose(new).raw) ng/day on average, less than the \(Schedule.averageDailyDose(old).raw) ng/day it gave when the visit began, and no program reviewed in this visit said so"))
            }
        }
        if !uncertain.isEmpty {
            out.append(Condition(
                code: "uncertain_command",
                message: "command\(uncertain.count == 1 ? "" : "s") \(uncertain.joined(separator: ", ")) \(uncertain.count == 1 ? "has" : "have") an uncertain outcome: whether the pump did it is not known yet"))
        }
        return out
    }
}
