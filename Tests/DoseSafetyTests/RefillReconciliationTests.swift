import DoseSafety
import Messages
import Testing

/// The volume withdrawn at a refill against the pump's count.
struct RefillReconciliationTests {
    func mL(_ thousandths: UInt64) -> Nanolitres { Nanolitres(thousandths * 1000) }

    @Test("within the tolerance either way, or exactly at it: no finding")
    func within() {
        for withdrawn in [mL(9000), mL(11_000), mL(8000), mL(12_000), mL(10_000)] {
            let r = RefillReconciliation.assess(expected: mL(10_000), withdrawn: withdrawn)
            #expect(r.finding == nil, "withdrawn \(withdrawn)")
            #expect(r.tolerance == RefillReconciliation.projectDefaultTolerance)
        }
        #expect(RefillReconciliation.assess(expected: mL(10_000), withdrawn: mL(9000)).differenceNl == -1_000_000)
        #expect(RefillReconciliation.assess(expected: mL(10_000), withdrawn: mL(12_000)).differenceNl == 2_000_000)
    }

    @Test("less withdrawn than counted, beyond the tolerance: a soft finding on 'withdrawn' naming a pocket fill")
    func less() throws {
        let r = RefillReconciliation.assess(expected: mL(10_000), withdrawn: mL(7500))
        #expect(r.differenceNl == -2_500_000)
        let f = try #require(r.finding)
        #expect(f.severity == .soft)
        #expect(f.rule == "refill.volume_discrepancy")
        #expect(f.field == "withdrawn")
        #expect(f.message.hasPrefix("the pump counted 10.000 mL in the reservoir and 7.500 mL was withdrawn: 2.500 mL less than expected, beyond the 2.000 mL tolerance. Less withdrawn"))
        #expect(f.message.contains("pocket fill"))
        #expect(f.message.contains("Check the needle placement, do not refill until the difference is explained, and record a reason to go on"))
        #expect(f.source.contains("ASRAFALL17"))
    }

    @Test("more withdrawn than counted, just past the tolerance: the extra nanolitres show, under-infusion is named")
    func more() throws {
        let r = RefillReconciliation.assess(expected: mL(10_000), withdrawn: Nanolitres(UInt64(12_000_400)))
        #expect(r.differenceNl == 2_000_400)
        let f = try #require(r.finding)
        #expect(f.message.contains("2.0004 mL more than expected, beyond the 2.000 mL tolerance"))
        #expect(f.message.contains("under-infusion"))
    }

    @Test("a clinic's tolerance and its source are used and carried")
    func clinicTolerance() throws {
        let r = RefillReconciliation.assess(
            expected: mL(20_000), withdrawn: mL(18_800), tolerance: mL(1000), toleranceSource: "clinic setting refill_tolerance")
        #expect(r.toleranceSource == "clinic setting refill_tolerance")
        #expect(try #require(r.finding).source.hasSuffix("tolerance: clinic setting refill_tolerance"))
    }

    @Test("volumes past any reservoir neither trap nor wrap: the signed difference saturates")
    func extremes() {
        let up = RefillReconciliation.assess(expected: .zero, withdrawn: Nanolitres(UInt64.max))
        #expect(up.differenceNl == .max)
        #expect(up.finding != nil)
        let down = RefillReconciliation.assess(expected: Nanolitres(UInt64.max), withdrawn: .zero)
        #expect(down.differenceNl == .min)
        #expect(down.finding != nil)
        let same = RefillReconciliation.assess(expected: Nanolitres(UInt64.max), withdrawn: Nanolitres(UInt64.max), tolerance: .zero)
        #expect(same.differenceNl == 0)
        #expect(same.finding == nil)
        #expect(RefillReconciliation.assess(expected: .zero, withdrawn: Nanolitres(UInt64.max), tolerance: Nanolitres(UInt64.max)).finding == nil)
    }
}
