import GRDB

/// A consistent copy of the trail while pumpd keeps writing to it.
extension AuditStore {
    /// The trail's size in pages, as a backup copies it: what the copy will take on disk.
    public func pageBytes() throws -> Int64 {
        try pool.read { db in
            let count = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let size = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
            return overflow ? .max : bytes
        }
    }

    /// Copies the trail into the database file at `path` (an empty file the
    /// caller made, owner-only) with SQLite's online backup, `pagesPerStep`
    /// pages at a time, and says what the copy holds.
    ///
    /// The copy is read in one read transaction of the WAL pool: it is the
    /// trail as it was when the backup began, and writers are never blocked
    /// (commands go on being recorded; they are in the next backup).
    /// `progress` hears (pages copied, pages in all) after each step and may
    /// throw to abandon the copy (a client that went away).
    ///
    /// The copy leaves WAL mode (rollback journal, as a lone file should be):
    /// it opens read-only anywhere, without -wal or -shm files beside it.
    public func backup(
        to path: String, pagesPerStep: Int32, progress: (_ copied: Int, _ total: Int) throws -> Void
    ) throws -> AuditTrailFile.Summary {
        let copy = try DatabaseQueue(path: path)
        do {
            try withoutActuallyEscaping(progress) { progress in
                try pool.backup(to: copy, pagesPerStep: pagesPerStep) { p in
                    try progress(p.completedPageCount, p.totalPageCount)
                }
            }
            try copy.writeWithoutTransaction { db in
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")
            }
            let summary = try copy.read { db in try AuditTrailFile.summary(db) }
            try copy.close()
            return summary
        } catch {
            try? copy.close()
            throw error
        }
    }
}
