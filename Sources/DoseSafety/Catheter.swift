import Messages

/// The implanted catheter, as much of it as the clinic knows: its volume is
/// what a drug change must push through before the new drug reaches the
/// patient. A total volume the clinic entered wins over a length and a
/// volume per centimetre; with neither the volume is unknown, never guessed.
public struct Catheter: Sendable, Hashable, Codable {
    public var implantedLengthMm: UInt32?
    public var nanolitresPerCm: UInt32?
    public var totalVolume: Nanolitres?
    /// Where `nanolitresPerCm` comes from when it is a maker's figure, for the findings' sources.
    public var nanolitresPerCmSource: String?

    public init(
        implantedLengthMm: UInt32? = nil, nanolitresPerCm: UInt32? = nil, totalVolume: Nanolitres? = nil,
        nanolitresPerCmSource: String? = nil
    ) {
        self.implantedLengthMm = implantedLengthMm
        self.nanolitresPerCm = nanolitresPerCm
        self.totalVolume = totalVolume
        self.nanolitresPerCmSource = nanolitresPerCmSource
    }

    /// The total volume when entered, else length × volume per cm (mm ÷ 10 to
    /// cm, rounded down: a catheter counted smaller never makes a bridge bolus
    /// run past the old drug); nil when neither is known.
    public var volume: Nanolitres? {
        if let totalVolume { return totalVolume }
        guard let length = implantedLengthMm, let perCm = nanolitresPerCm else { return nil }
        // Two u32s multiply within 64 bits.
        return Nanolitres(UInt64(length) * UInt64(perCm) / 10)
    }

    /// How `volume` was obtained, for a finding's source.
    public var volumeSource: String {
        if totalVolume != nil { return "total volume entered by the clinic" }
        guard let length = implantedLengthMm, let perCm = nanolitresPerCm else {
            return "not known: neither a total volume nor an implanted length and volume per cm entered"
        }
        let formula = "\(length) mm × \(perCm) nL/cm"
        return nanolitresPerCmSource.map { "\(formula) (\($0))" } ?? formula
    }

    // MARK: Prometra

    /// Prometra's intrathecal catheter holds 0.0026 mL per cm.
    public static let prometraNanolitresPerCm: UInt32 = 2600
    /// The catheter's full length before it is trimmed at implant: 110 cm.
    public static let prometraLengthMm: UInt32 = 1100
    public static let prometraSource =
        "Prometra II Programmable Pump instructions for use (Flowonix, REF 13827/16827), implant step 18: implanted catheter length (cm) = 110 cm − trimmed catheter length (cm); implanted catheter volume (mL) = implanted length (cm) × 0.0026 mL/cm (https://manualshive.com/ru/manual/flowonix/13827/2308328?page=33); as quoted in the project's issue 16"

    /// The catheter left after `trimmedMm` was cut off a Prometra catheter;
    /// nil when nothing would be left.
    public static func prometra(trimmedMm: UInt32) -> Catheter? {
        guard trimmedMm < prometraLengthMm else { return nil }
        return Catheter(
            implantedLengthMm: prometraLengthMm - trimmedMm, nanolitresPerCm: prometraNanolitresPerCm,
            nanolitresPerCmSource: prometraSource)
    }
}
