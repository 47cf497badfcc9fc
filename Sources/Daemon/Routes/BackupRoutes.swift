import API
import Audit
import HTTPTypes
import Hummingbird
import Messages
import NIOCore
import NIOPosix
import PumpCore

/// `GET /v1/audit/backup`: a consistent copy of the whole audit trail, made
/// with SQLite's online backup while commands go on being recorded, sent as
/// one SQLite file with its SHA-256 and what it holds in headers
/// (`pumpctl audit backup FILE` saves and checks it; `pumpd --restore FILE`
/// puts it back). It holds every patient's name: root and the configured
/// administrators only, as for station accounts. The station's accounts
/// (accounts.sqlite) are not in it.
struct BackupRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.get("/v1/audit/backup") { _, ctx in try await backup(ctx) }
    }

    func backup(_ ctx: PumpContext) async throws -> Response {
        guard let peer = ctx.peer, policy.isAdmin(peer) else {
            logger.notice("audit backup refused: not an administrator", metadata: ["uid": "\(ctx.peer.map { "\($0.uid)" } ?? "-")", "kind": "security"])
            throw APIError(403, .forbidden, "only root and pumpd's administrators (admin_uids in its config, --admin-uid) may take a backup of the audit trail: it holds every patient's name. Run `pumpctl audit backup` as one of them (e.g. with sudo)")
        }
        guard let held = api.backups.take() else {
            throw ServiceRefusal(
                status: 409, code: .backupRunning,
                message: "another backup of the audit trail is being made or sent; pumpd makes one at a time. Wait for it to finish and try again",
                retryAfterSeconds: 10)
        }
        let store = pump.store, dataDir = settings.dataDir
        try checkRoom(store, dataDir: dataDir)
        let started = ContinuousClock.now
        let copy: AuditBackupFile
        do {
            copy = try await NIOThreadPool.singleton.runIfActive { try AuditBackupFile.make(store, dataDir: dataDir) }
        } catch {
            logger.error("audit backup failed", metadata: ["error": "\(error)", "kind": "security"])
            throw APIError(500, .internal, "pumpd could not make the backup: \(error); see its log")
        }
        let s = copy.summary
        logger.notice("audit trail copied for a backup", metadata: [
            "uid": "\(peer.uid)", "bytes": "\(copy.size)", "commands": "\(s.commands)", "events": "\(s.events)",
            "seconds": "\(started.duration(to: .now))", "kind": "security",
        ])
        var headers: HTTPFields = [
            .contentType: "application/vnd.sqlite3",
            .contentDisposition: "attachment; filename=\"pumpd-audit-\(FileStamp.utc(ms: PumpService.nowMs())).sqlite\"",
            .backupSHA256: copy.sha256,
            .backupSchema: "\(s.schemaVersion)",
            .backupCommands: "\(s.commands)", .backupEvents: "\(s.events)",
            .backupPatients: "\(s.patients)", .backupVisits: "\(s.visits)",
        ]
        if let id = s.newestCommandID, let ms = s.newestCommandMs {
            headers[.backupNewestCommand] = "\(id) \(TimeText.isoMillis(ms))"
        }
        let channel = ctx.channel, logger = self.logger
        let body = ResponseBody(contentLength: Int(clamping: copy.size)) { writer in
            // The slot and the copy go when the body is done, however it ends.
            defer { withExtendedLifetime((held, copy)) {} }
            var offset: Int64 = 0
            while offset < copy.size {
                let at = offset
                let chunk = try await NIOThreadPool.singleton.runIfActive { () throws -> ByteBuffer in
                    var bytes = [UInt8](repeating: 0, count: Int(min(1 << 20, copy.size - at)))
                    let n = try AuditBackupFile.read(copy.fd, into: &bytes, at: at)
                    guard n > 0 else { throw AuditBackupFile.Failure(description: "the copy ended at byte \(at) of \(copy.size)") }
                    return ByteBuffer(bytes: bytes[..<n])
                }
                do { try await APIRoutes.send(chunk, &writer, channel) } catch {
                    logger.notice("audit backup not taken: the client went away", metadata: ["sent": "\(offset)", "bytes": "\(copy.size)"])
                    throw error
                }
                offset += Int64(chunk.readableBytes)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Room for the copy (the trail's pages) above the data dir's floor, so
    /// that a backup never takes the room the trail itself needs.
    func checkRoom(_ store: AuditStore, dataDir: String) throws {
        let needed = try store.pageBytes()
        guard let space = DiskSpace.reading(at: dataDir) else {
            throw APIError(500, .internal, "pumpd cannot read the free space of its data dir \(dataDir); see its log")
        }
        let (wanted, overflow) = UInt64(clamping: needed).addingReportingOverflow(DiskSpace.floorBytes)
        guard !overflow, space.freeBytes >= wanted else {
            throw ServiceRefusal(
                status: 507, code: .insufficientStorage,
                message: "the disk of the data dir \(dataDir) has \(DiskSpace.mebibytes(space.freeBytes)) free; a backup needs \(DiskSpace.mebibytes(UInt64(clamping: needed))) there for its copy of the trail, besides the \(DiskSpace.mebibytes(DiskSpace.floorBytes)) pumpd keeps for the trail itself. Free space on that disk (old captures, rotated logs) and try again")
        }
    }
}

extension HTTPField.Name {
    static let contentDisposition = literal("Content-Disposition")
    static let backupSHA256 = literal("Backup-SHA256")
    static let backupSchema = literal("Backup-Schema")
    static let backupCommands = literal("Backup-Commands")
    static let backupEvents = literal("Backup-Events")
    static let backupPatients = literal("Backup-Patients")
    static let backupVisits = literal("Backup-Visits")
    static let backupNewestCommand = literal("Backup-Newest-Command")
}
