import GRDB

/// What pumpd keeps of a patient, per implant: what the pump cannot know.
/// It is read by clinicians and nurses only and never written to a log
/// (log lines name the record's id, never the person).
public struct PatientRecord: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "patient"

    /// "p" + a number; what commands, events, visits and reports carry.
    public var id: String
    /// The implant's serial as its HELLO reports it (unique: one patient per pump).
    public var implantSerial: String
    public var name: String
    /// The clinic's identifier (medical record number).
    public var identifier: String
    /// ISO date (YYYY-MM-DD) of the implant, when known.
    public var implantDate: String?
    public var pumpModel: String?
    /// The catheter as implanted: its length in mm and volume per cm in nL,
    /// or its total volume in nL (see DoseSafety's `Catheter`).
    public var catheterLengthMm: Int64?
    public var catheterNanolitresPerCm: Int64?
    public var catheterVolumeNl: Int64?
    public var createdMs: Int64
    public var updatedMs: Int64
    /// Who created or last changed the record (a requester's name, e.g. "alice (clinician)").
    public var changedBy: String

    public init(
        id: String, implantSerial: String, name: String, identifier: String, implantDate: String? = nil, pumpModel: String? = nil,
        catheterLengthMm: Int64? = nil, catheterNanolitresPerCm: Int64? = nil, catheterVolumeNl: Int64? = nil,
        createdMs: Int64, changedBy: String
    ) {
        self.id = id
        self.implantSerial = implantSerial
        self.name = name
        self.identifier = identifier
        self.implantDate = implantDate
        self.pumpModel = pumpModel
        self.catheterLengthMm = catheterLengthMm
        self.catheterNanolitresPerCm = catheterNanolitresPerCm
        self.catheterVolumeNl = catheterVolumeNl
        self.createdMs = createdMs
        updatedMs = createdMs
        self.changedBy = changedBy
    }
}
