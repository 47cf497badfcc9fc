import Messages

/// Doses in both units, the drug's usual one first: "2.4 mg/day (2400 mcg/day)".
public enum DoseText {
    public static func both(_ ng: UInt64, perDay: Bool, first: String, perML: Bool = false) -> String {
        let suffix = perDay ? "/day" : perML ? "/mL" : ""
        let mg = DecimalText.render(ng, places: 6) + " mg" + suffix
        let mcg = DecimalText.render(ng, places: 3) + " mcg" + suffix
        return first.hasPrefix("mg") ? "\(mg) (\(mcg))" : "\(mcg) (\(mg))"
    }
}
