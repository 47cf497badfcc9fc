import Messages

/// The drug library ("dose error reduction software"): for each of the ICD's
/// drugs, the limits a change must respect, soft (passes with a named
/// override and a reason) or hard (never passes), each with its source.
/// Read from JSON by the API module (spec/drug-library.json; its schema is spec/drug-library.md).
public struct DrugLibrary: Sendable, Hashable {
    public struct Limit<Value: Sendable & Hashable>: Sendable, Hashable {
        public var value: Value
        public var source: String
        public init(value: Value, source: String) {
            self.value = value
            self.source = source
        }
    }

    public struct Entry: Sendable, Hashable {
        public var drug: Drug
        /// "mg" or "mcg": how clinicians write this drug's doses.
        public var displayUnit: String
        public var concentrationMin: Limit<NanogramsPerMillilitre>
        public var concentrationMax: Limit<NanogramsPerMillilitre>
        public var dailySoftMax: Limit<NanogramsPerDay>
        public var dailyHardMax: Limit<NanogramsPerDay>
        /// The highest daily dose a first program (no program before it) may start at.
        public var startSoftMax: Limit<NanogramsPerDay>?
        public var changeMaxAbsolute: Limit<NanogramsPerDay>
        public var changeMaxPercent: Limit<UInt64>
        public var increaseMinIntervalHours: Limit<UInt64>
        public var bolusSoftMax: Limit<Nanograms>
        public var bolusHardMax: Limit<Nanograms>
        /// nil: the library allows no patient-activated bolus for this drug.
        public var patientBolusMaxDose: Limit<Nanograms>?
        public var patientBolusMinLockout: Limit<Minutes>?
        public var patientBolusMaxPerDay: Limit<UInt8>?

        public init(
            drug: Drug,
            displayUnit: String,
            concentrationMin: Limit<NanogramsPerMillilitre>,
            concentrationMax: Limit<NanogramsPerMillilitre>,
            dailySoftMax: Limit<NanogramsPerDay>,
            dailyHardMax: Limit<NanogramsPerDay>,
            startSoftMax: Limit<NanogramsPerDay>?,
            changeMaxAbsolute: Limit<NanogramsPerDay>,
            changeMaxPercent: Limit<UInt64>,
            increaseMinIntervalHours: Limit<UInt64>,
            bolusSoftMax: Limit<Nanograms>,
            bolusHardMax: Limit<Nanograms>,
            patientBolusMaxDose: Limit<Nanograms>?,
            patientBolusMinLockout: Limit<Minutes>?,
            patientBolusMaxPerDay: Limit<UInt8>?
        ) {
            self.drug = drug
            self.displayUnit = displayUnit
            self.concentrationMin = concentrationMin
            self.concentrationMax = concentrationMax
            self.dailySoftMax = dailySoftMax
            self.dailyHardMax = dailyHardMax
            self.startSoftMax = startSoftMax
            self.changeMaxAbsolute = changeMaxAbsolute
            self.changeMaxPercent = changeMaxPercent
            self.increaseMinIntervalHours = increaseMinIntervalHours
            self.bolusSoftMax = bolusSoftMax
            self.bolusHardMax = bolusHardMax
            self.patientBolusMaxDose = patientBolusMaxDose
            self.patientBolusMinLockout = patientBolusMinLockout
            self.patientBolusMaxPerDay = patientBolusMaxPerDay
        }
    }

    public var name: String
    public var entries: [Drug: Entry]
    public var source: String?

    public func entry(_ d: Drug) -> Entry? { entries[d] }

    public init(name: String, entries: [Drug: Entry], source: String?) {
        self.name = name
        self.entries = entries
        self.source = source
    }

    /// Why a library cannot be used (unreadable, malformed, a limit without its source).
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }
}
