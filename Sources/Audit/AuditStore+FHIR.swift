import GRDB

/// What the FHIR export reads of the trail: a patient's program history.
extension AuditStore {
    /// A patient's program pushes and refills that ran (succeeded, or settled
    /// as applied), oldest first, with their plans, outcomes and reviews:
    /// the confirmed changes, and the refills that cleared a program.
    public func programHistory(patientId: String) throws -> [CommandRecord] {
        try pool.read { db in
            try CommandRecord.filter(
                Column("patientId") == patientId && ["program", "refill"].contains(Column("kind"))
                    && [CommandState.succeeded.rawValue, CommandState.applied.rawValue].contains(Column("state"))
            )
            .order(Column("createdMs"), Column("id")).fetchAll(db)
        }
    }
}
