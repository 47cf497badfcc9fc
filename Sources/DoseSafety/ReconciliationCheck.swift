import Messages

/// The refill's reconciliation as a check: the volume withdrawn against
/// what the pump counted (`RefillReconciliation`). Beyond the clinic's
/// tolerance it is a soft finding that needs a reason; within it, or with
/// no volume entered, the review says so (information), so that the visit's
/// report shows every refill either reconciled or not.
public struct ReconciliationCheck: CommandCheck {
    public var tolerance: Nanolitres
    public var toleranceSource: String

    public init(
        tolerance: Nanolitres = RefillReconciliation.projectDefaultTolerance,
        toleranceSource: String = RefillReconciliation.projectDefaultToleranceSource
    ) {
        self.tolerance = tolerance
        self.toleranceSource = toleranceSource
    }

    public static let reconciled = "refill.reconciled"
    public static let notReconciled = "refill.not_reconciled"

    public func check(_ plan: Plan, _ c: CheckContext) -> [Finding] {
        guard case .refill(_, let withdrawn) = plan, c.status.loadedDrug != nil else { return [] }  // a first fill has nothing to withdraw
        let expected = c.status.reservoir
        guard let withdrawn else {
            return [Finding(
                severity: .info, rule: Self.notReconciled, field: "withdrawn",
                message: "no withdrawn volume was entered, so this refill is not reconciled: the pump counts \(VolumeText.mL3(expected.raw)) in the reservoir; enter what you withdraw (withdrawn) to have it checked",
                source: "refill reconciliation (A810 and Prometra refill practice)")]
        }
        let r = RefillReconciliation.assess(expected: expected, withdrawn: withdrawn, tolerance: tolerance, toleranceSource: toleranceSource)
        if let f = r.finding { return [f] }
        return [Finding(
            severity: .info, rule: Self.reconciled, field: "withdrawn",
            message: "reconciled: \(VolumeText.mL3(withdrawn.raw)) withdrawn, the pump counted \(VolumeText.mL3(expected.raw)); the difference is within the \(VolumeText.mL3(tolerance.raw)) tolerance",
            source: "tolerance: \(toleranceSource)")]
    }
}
