import Messages

/// At a refill the clinician withdraws what is left in the reservoir and
/// compares it with what the pump counted (its reservoir_nl, ICD §9.1). A
/// difference beyond the tolerance means the pump did not deliver what it
/// counted, or the drug is not where it should be: explained first, or
/// overridden with a recorded reason.
public struct RefillReconciliation: Sendable, Hashable, Codable {
    /// The pump's reservoir_nl before the refill.
    public var expected: Nanolitres
    /// What the clinician withdrew, as entered.
    public var withdrawn: Nanolitres
    /// withdrawn − expected, saturated at Int64's ends (volumes that large are far past any reservoir).
    public var differenceNl: Int64
    public var tolerance: Nanolitres
    public var toleranceSource: String
    public var finding: Finding?

    public static let rule = "refill.volume_discrepancy"

    /// 2 mL, the figure the source below names.
    public static let projectDefaultTolerance = Nanolitres(UInt64(2_000_000))
    public static let projectDefaultToleranceSource =
        "2 mL: 'Accuracy in Intrathecal Drug Delivery with an Implanted Infusion System: Important Clinical Considerations', ASRA Fall 2017 e-poster (https://epostersonline.com/ASRAFALL17/node/1139): a volume withdrawn at refill that differs from the programmer's expected volume by more than the device's accuracy specification or more than 2 mL should be evaluated; a clinic sets refill_tolerance"

    public static func assess(
        expected: Nanolitres, withdrawn: Nanolitres, tolerance: Nanolitres = projectDefaultTolerance,
        toleranceSource: String = projectDefaultToleranceSource
    ) -> RefillReconciliation {
        // The magnitude in 64 unsigned bits is exact for any two volumes; only the signed copy saturates.
        let less = withdrawn < expected
        let magnitude = less ? expected.raw - withdrawn.raw : withdrawn.raw - expected.raw
        let signed = Int64(exactly: magnitude).map { less ? -$0 : $0 } ?? (less ? .min : .max)
        var result = RefillReconciliation(
            expected: expected, withdrawn: withdrawn, differenceNl: signed, tolerance: tolerance,
            toleranceSource: toleranceSource, finding: nil)
        guard magnitude > tolerance.raw else { return result }
        let figures = "the pump counted \(VolumeText.mL3(expected.raw)) in the reservoir and \(VolumeText.mL3(withdrawn.raw)) was withdrawn: \(VolumeText.mL3(magnitude)) \(less ? "less" : "more") than expected, beyond the \(VolumeText.mL3(tolerance.raw)) tolerance"
        let meaning =
            less
            ? "Less withdrawn than expected means the pump delivered more than it counted, or drug went where it should not: a pocket fill at the last refill is possible (watch for an overdose)"
            : "More withdrawn than expected means the pump delivered less than programmed: under-infusion, from a catheter problem (occlusion, kink) or a pump problem (watch for withdrawal)"
        result.finding = Finding(
            severity: .soft, rule: rule, field: "withdrawn",
            message: "\(figures). \(meaning). Check the needle placement, do not refill until the difference is explained, and record a reason to go on",
            source: "expected: the pump's reservoir_nl before the refill (ICD §9.1); tolerance: \(toleranceSource)")
        return result
    }
}
