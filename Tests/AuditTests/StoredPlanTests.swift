import DoseSafety
import Foundation
import Messages
import Testing

/// A refill plan gained the volume withdrawn (schema v5): plans stored
/// before it still read as what they were.
struct StoredPlanTests {
    static let refill = Refill(drug: .morphine, concentration: .init(UInt64(10_000_000)), reservoir: .init(UInt64(20_000_000)), lowAlarm: .init(UInt64(2_000_000)))

    @Test func aRefillStoredBeforeTheWithdrawnVolumeStillReads() throws {
        let old = #"{"refill":{"_0":{"concentration":{"unit":"ng/mL","value":10000000},"drugCode":1,"lowAlarm":{"unit":"nL","value":2000000},"reservoir":{"unit":"nL","value":20000000},"zero16":0,"zero8":0}}}"#
        let plan = try JSONDecoder().decode(Plan.self, from: Data(old.utf8))
        #expect(plan == .refill(Self.refill))
    }

    @Test func aRefillWithItsWithdrawnVolumeRoundTrips() throws {
        let plan = Plan.refill(Self.refill, withdrawn: .init(UInt64(1_500_000)))
        let back = try JSONDecoder().decode(Plan.self, from: try JSONEncoder().encode(plan))
        #expect(back == plan)
        #expect(back != .refill(Self.refill))
    }
}
