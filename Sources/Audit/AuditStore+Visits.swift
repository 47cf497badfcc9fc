import DoseSafety
import GRDB

/// Patients and visits, in the same trail as the commands they explain.
extension AuditStore {
    public enum PatientFailure: Error, Sendable, Equatable {
        /// Another record already names this implant.
        case implantTaken(byPatient: String)
        case unknownPatient(String)
        case unknownVisit(String)
        /// A visit is open already: one at a time per station.
        case visitOpen(String)
        case visitEnded(String)
    }

    /// The next id of a table whose ids are a letter and a number.
    static func nextID(_ db: Database, table: String, prefix: String) throws -> String {
        let ids = try String.fetchAll(db, sql: "SELECT id FROM \(table)")
        return prefix + String((ids.compactMap { UInt64($0.dropFirst()) }.max() ?? 0) + 1)
    }

    // MARK: patients

    /// Records a new patient, giving it its id.
    public func addPatient(_ make: (String) -> PatientRecord) throws -> PatientRecord {
        try write { db in
            let p = make(try Self.nextID(db, table: "patient", prefix: "p"))
            if let other = try PatientRecord.filter(Column("implantSerial") == p.implantSerial).fetchOne(db) {
                throw PatientFailure.implantTaken(byPatient: other.id)
            }
            try p.insert(db)
            try Journal.record(db, .patient, key: p.id, atMs: Self.nowMs())
            return p
        }
    }

    /// Replaces a patient's record (its id and creation stay).
    public func updatePatient(_ p: PatientRecord) throws {
        try write { db in
            guard try PatientRecord.fetchOne(db, key: p.id) != nil else { throw PatientFailure.unknownPatient(p.id) }
            if let other = try PatientRecord.filter(Column("implantSerial") == p.implantSerial && Column("id") != p.id).fetchOne(db) {
                throw PatientFailure.implantTaken(byPatient: other.id)
            }
            try p.update(db)
            try Journal.record(db, .patient, key: p.id, atMs: Self.nowMs())
        }
    }

    public func patient(_ id: String) throws -> PatientRecord? {
        try pool.read { db in try PatientRecord.fetchOne(db, key: id) }
    }

    public func patient(implantSerial: String) throws -> PatientRecord? {
        try pool.read { db in try PatientRecord.filter(Column("implantSerial") == implantSerial).fetchOne(db) }
    }

    public func patients() throws -> [PatientRecord] {
        try pool.read { db in try PatientRecord.order(Column("createdMs"), Column("id")).fetchAll(db) }
    }

    // MARK: visits

    /// Opens a visit, giving it its id; refused while another is open.
    public func openVisit(_ make: (String) -> VisitRecord) throws -> VisitRecord {
        try write { db in
            if let open = try VisitRecord.filter(Column("endedMs") == nil).fetchOne(db) { throw PatientFailure.visitOpen(open.id) }
            let v = make(try Self.nextID(db, table: "visit", prefix: "v"))
            try v.insert(db)
            try Journal.record(db, .visit, key: v.id, atMs: Self.nowMs())
            return v
        }
    }

    /// The open visit, if there is one.
    public func openVisit() throws -> VisitRecord? {
        try pool.read { db in try VisitRecord.filter(Column("endedMs") == nil).fetchOne(db) }
    }

    public func visit(_ id: String) throws -> VisitRecord? {
        try pool.read { db in try VisitRecord.fetchOne(db, key: id) }
    }

    /// The newest visits first; of one patient when given.
    public func visits(limit: Int, patientId: String? = nil) throws -> [VisitRecord] {
        try pool.read { db in
            var q = VisitRecord.order(Column("startedMs").desc, Column("id").desc)
            if let patientId { q = q.filter(Column("patientId") == patientId) }
            return try q.limit(limit).fetchAll(db)
        }
    }

    /// The open visit goes on with another implant, confirmed as its
    /// patient's: the patient's record and the visit change together, in one
    /// transaction. Returns the visit and the implant it named before.
    public func confirmImplant(_ id: String, implant: String, changedBy: String, nowMs: Int64) throws -> (VisitRecord, String) {
        try write { db in
            guard var v = try VisitRecord.fetchOne(db, key: id) else { throw PatientFailure.unknownVisit(id) }
            guard v.isOpen else { throw PatientFailure.visitEnded(id) }
            guard var p = try PatientRecord.fetchOne(db, key: v.patientId) else { throw PatientFailure.unknownPatient(v.patientId) }
            if let other = try PatientRecord.filter(Column("implantSerial") == implant && Column("id") != p.id).fetchOne(db) {
                throw PatientFailure.implantTaken(byPatient: other.id)
            }
            let old = v.implantSerial
            p.implantSerial = implant
            p.updatedMs = nowMs
            p.changedBy = changedBy
            try p.update(db)
            try Journal.record(db, .patient, key: p.id, atMs: Self.nowMs())
            v.implantSerial = implant
            try v.update(db)
            try Journal.record(db, .visit, key: v.id, atMs: Self.nowMs())
            return (v, old)
        }
    }

    /// Closes an open visit with the pump as it was left.
    public func endVisit(_ id: String, endedMs: Int64, by who: String, after: VisitRecord.PumpState?, acknowledgement: VisitRecord.Acknowledgement?) throws -> VisitRecord {
        try write { db in
            guard var v = try VisitRecord.fetchOne(db, key: id) else { throw PatientFailure.unknownVisit(id) }
            guard v.isOpen else { throw PatientFailure.visitEnded(id) }
            v.endedMs = endedMs
            v.endedBy = who
            v.after = after
            v.acknowledgement = acknowledgement
            try v.update(db)
            try Journal.record(db, .visit, key: v.id, atMs: Self.nowMs())
            return v
        }
    }

    /// A visit's commands, oldest first, with their plans and reviews.
    public func commands(visitId: String) throws -> [CommandRecord] {
        try pool.read { db in
            try CommandRecord.filter(Column("visitId") == visitId).order(Column("createdMs"), Column("id")).fetchAll(db)
        }
    }

    /// Keeps the review a command was checked against, before it goes on the wire.
    public func attachReview(_ id: String, _ review: Review) throws {
        let json = String(decoding: try CommandRecord.encoder.encode(review), as: UTF8.self)
        try write { db in
            try db.execute(sql: "UPDATE command SET review = ? WHERE id = ?", arguments: [json, id])
            guard db.changesCount == 1 else { throw Failure.unknownCommand(id) }
            try Journal.record(db, .command, key: id, atMs: Self.nowMs())
        }
    }

    /// Refills that succeeded on a patient's implant, oldest first: the drug history.
    public func refills(patientId: String) throws -> [CommandRecord] {
        try pool.read { db in
            try CommandRecord.filter(Column("patientId") == patientId && Column("kind") == "refill" && [CommandState.succeeded.rawValue, CommandState.applied.rawValue].contains(Column("state")))
                .order(Column("createdMs"), Column("id")).fetchAll(db)
        }
    }
}
