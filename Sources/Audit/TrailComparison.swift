import GRDB

/// What a trail holds that a backup of it lacks: the test `pumpd --restore`
/// applies before it puts a backup in the trail's place. A backup may
/// replace a trail only if it holds everything the trail does, as far along:
/// - every command, with the same creation time and kind, updated at least
///   as late, and in the same state if the trail's is final (final states
///   never change: a backup showing another is from another trail, or older);
/// - every mirrored event, with the same device time and code;
/// - every patient, changed at least as late; every visit, ended if the
///   trail's is ended.
/// The backup may hold more (that is what restoring is for).
public struct TrailComparison: Sendable, Equatable {
    public var commands: Int64
    public var newestCommandID: String?
    public var newestCommandKind: String?
    public var newestCommandMs: Int64?
    public var events: Int64
    public var newestEventIndex: Int64?
    public var patients: Int64
    public var visits: Int64

    /// True when the backup lacks nothing of the trail.
    public var backupHoldsAll: Bool { commands == 0 && events == 0 && patients == 0 && visits == 0 }

    /// Compares the trail at `current` with the backup at `backup`, both
    /// already checked with `AuditTrailFile`. Only reads, and leaves the
    /// trail's files as they were (`AuditTrailFile.configuration(forTrailAt:)`).
    public static func compare(current: String, backup: String) throws -> TrailComparison {
        let queue = try DatabaseQueue(path: current, configuration: AuditTrailFile.configuration(forTrailAt: current))
        defer { try? queue.close() }
        return try queue.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS backup", arguments: [backup])
            defer { try? db.execute(sql: "DETACH DATABASE backup") }
            // One read transaction over both files: one moment of each.
            var result = TrailComparison(commands: 0, events: 0, patients: 0, visits: 0)
            try db.inTransaction(.deferred) {
                result = try compare(db)
                return .commit
            }
            return result
        }
    }

    init(commands: Int64, events: Int64, patients: Int64, visits: Int64) {
        self.commands = commands
        self.events = events
        self.patients = patients
        self.visits = visits
    }

    static let finalStates = CommandState.allCases.filter(\.isFinal).map { "'\($0.rawValue)'" }.joined(separator: ", ")

    static func compare(_ db: Database) throws -> TrailComparison {
        let lackingCommands = """
            FROM main.command c LEFT JOIN backup.command b ON b.id = c.id
            WHERE b.id IS NULL OR b.createdMs != c.createdMs OR b.kind != c.kind OR b.updatedMs < c.updatedMs
               OR (c.state IN (\(finalStates)) AND b.state != c.state)
            """
        var r = TrailComparison(
            commands: try Int64.fetchOne(db, sql: "SELECT COUNT(*) " + lackingCommands) ?? 0,
            events: 0, patients: 0, visits: 0)
        if let newest = try Row.fetchOne(db, sql: "SELECT c.id, c.kind, c.createdMs " + lackingCommands + " ORDER BY c.createdMs DESC, c.id DESC LIMIT 1") {
            r.newestCommandID = newest["id"]
            r.newestCommandKind = newest["kind"]
            r.newestCommandMs = newest["createdMs"]
        }
        if let row = try Row.fetchOne(
            db,
            sql: """
                SELECT COUNT(*) AS n, MAX(e."index") AS newest FROM main.event e LEFT JOIN backup.event b ON b."index" = e."index"
                WHERE b."index" IS NULL OR b.time != e.time OR b.code != e.code
                """)
        {
            r.events = row["n"] ?? 0
            r.newestEventIndex = row["newest"]
        }
        // Patients and visits came with schema v5: a trail without them has none
        // to lose; a backup without them lacks every one the trail has.
        let trailHas = { (t: String) in try Bool.fetchOne(db, sql: "SELECT COUNT(*) > 0 FROM main.sqlite_master WHERE type = 'table' AND name = ?", arguments: [t]) ?? false }
        let backupHas = { (t: String) in try Bool.fetchOne(db, sql: "SELECT COUNT(*) > 0 FROM backup.sqlite_master WHERE type = 'table' AND name = ?", arguments: [t]) ?? false }
        if try trailHas("patient") {
            r.patients = try Int64.fetchOne(
                db,
                sql: try backupHas("patient")
                    ? "SELECT COUNT(*) FROM main.patient p LEFT JOIN backup.patient b ON b.id = p.id WHERE b.id IS NULL OR b.updatedMs < p.updatedMs"
                    : "SELECT COUNT(*) FROM main.patient") ?? 0
        }
        if try trailHas("visit") {
            r.visits = try Int64.fetchOne(
                db,
                sql: try backupHas("visit")
                    ? "SELECT COUNT(*) FROM main.visit v LEFT JOIN backup.visit b ON b.id = v.id WHERE b.id IS NULL OR (v.endedMs IS NOT NULL AND b.endedMs IS NULL)"
                    : "SELECT COUNT(*) FROM main.visit") ?? 0
        }
        return r
    }
}
