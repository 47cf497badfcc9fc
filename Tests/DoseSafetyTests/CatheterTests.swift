import DoseSafety
import Foundation
import Messages
import Testing

/// The catheter's volume: a total the clinic entered, or length × volume per cm.
struct CatheterTests {
    @Test("Prometra: 110 cm − 15 cm trimmed = 95 cm × 0.0026 mL/cm = 0.247 mL")
    func prometraFormula() throws {
        let c = try #require(Catheter.prometra(trimmedMm: 150))
        #expect(c.implantedLengthMm == 950)
        #expect(c.nanolitresPerCm == 2600)
        #expect(c.volume == Nanolitres(UInt64(247_000)))
        #expect(c.volumeSource.hasPrefix("950 mm × 2600 nL/cm (Prometra II"))
        #expect(Catheter.prometraSource.contains("0.0026 mL/cm"))
    }

    @Test("a Prometra catheter trimmed to nothing is no catheter; 1 mm left holds 0.26 µL")
    func prometraTrimmedAway() {
        #expect(Catheter.prometra(trimmedMm: 1100) == nil)
        #expect(Catheter.prometra(trimmedMm: .max) == nil)
        #expect(Catheter.prometra(trimmedMm: 1099)?.volume == Nanolitres(UInt64(260)))
        #expect(Catheter.prometra(trimmedMm: 0)?.volume == Nanolitres(UInt64(286_000)))
    }

    @Test("a total volume the clinic entered wins over length × per cm")
    func totalVolumeWins() {
        let c = Catheter(implantedLengthMm: 950, nanolitresPerCm: 2600, totalVolume: Nanolitres(UInt64(300_000)))
        #expect(c.volume == Nanolitres(UInt64(300_000)))
        #expect(c.volumeSource == "total volume entered by the clinic")
    }

    @Test("with neither a total nor both length and per cm, the volume is unknown")
    func unknown() {
        #expect(Catheter().volume == nil)
        #expect(Catheter(implantedLengthMm: 950).volume == nil)
        #expect(Catheter(nanolitresPerCm: 2600).volume == nil)
        #expect(Catheter().volumeSource.hasPrefix("not known"))
        #expect(Catheter(implantedLengthMm: 950, nanolitresPerCm: 2600).volumeSource == "950 mm × 2600 nL/cm")
    }

    @Test("the largest length and per cm multiply within 64 bits")
    func extremes() {
        let c = Catheter(implantedLengthMm: .max, nanolitresPerCm: .max)
        #expect(c.volume == Nanolitres(UInt64(UInt32.max) * UInt64(UInt32.max) / 10))
        #expect(Catheter(totalVolume: Nanolitres(UInt64.max)).volume?.raw == .max)
    }

    @Test("stored and read back with its units")
    func codable() throws {
        let c = try #require(Catheter.prometra(trimmedMm: 150))
        let back = try JSONDecoder().decode(Catheter.self, from: JSONEncoder().encode(c))
        #expect(back == c)
    }
}
