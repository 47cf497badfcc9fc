/// Text that looks like digits to a person, or to Swift's `Character`, but is
/// not ASCII 0–9. Each once reached `UInt64(_:)!` in `DecimalText.parse` (the
/// first two trapped pumpd: issue 13) or could have. Every quantity field and
/// every digits-only parameter must refuse each of them with a 400.
public enum HostileDigits {
    public static let values: [String] = [
        // A digit followed by a combining mark: one Character, between "0" and "9".
        "1\u{301}", "0.5\u{301}", "1\u{301}.5", "12\u{308}", "1\u{332}", "9\u{20DD}",
        // Keycaps: digit, variation selector, combining enclosing keycap.
        "1\u{FE0F}\u{20E3}", "2\u{20E3}",
        // Other scripts' digits (Arabic-Indic, Extended Arabic-Indic, Devanagari, Thai, Bengali, mathematical bold).
        "\u{0661}", "\u{06F5}", "\u{0967}\u{0966}", "\u{0E51}", "\u{09E7}.5", "\u{1D7CF}",
        // Full-width digits and point.
        "\u{FF11}", "\u{FF11}\u{FF10}", "1\u{FF10}", "\u{FF10}.5", "1.\u{FF15}", "1\u{FF0E}5",
        // Number forms that are not digits at all.
        "\u{00B9}", "\u{2460}", "\u{00BD}", "\u{216B}",
        // Invisible joiners around real digits.
        "1\u{200D}", "\u{200B}1", "1\u{FEFF}",
    ]
}
