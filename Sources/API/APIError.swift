import JSON

/// An error answer: an HTTP status, a stable machine code, and a sentence
/// that says what is wrong and what to do. `field` names the offending part
/// of the request (a JSON path such as `steps[2].rate`), when there is one.
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    public var code: Code
    public var message: String
    public var field: String?
    /// A command the client should look at (the uncertain one behind a 409, say).
    public var commandID: String?

    public init(_ status: Int, _ code: Code, _ message: String, field: String? = nil, commandID: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.commandID = commandID
    }

    /// Stable codes: scripts branch on these, never on the sentence.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case badJSON = "bad_json"
        case badRequest = "bad_request"
        case missingField = "missing_field"
        case unknownField = "unknown_field"
        case wrongType = "wrong_type"
        case bareNumber = "bare_number"
        case unknownUnit = "unknown_unit"
        case wrongUnit = "wrong_unit"
        case badQuantity = "bad_quantity"
        case outOfRange = "out_of_range"
        case deviceLimit = "device_limit"
        case hardLimit = "hard_limit"
        case bolusActive = "bolus_active"
        case overrideRequired = "override_required"
        case unusedOverride = "unused_override"
        case unknownDrug = "unknown_drug"
        case unknownAlarm = "unknown_alarm"
        case noDrugLoaded = "no_drug_loaded"
        case forbidden
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case tooLarge = "too_large"
        case unsupportedMediaType = "unsupported_media_type"
        case uncertainCommand = "uncertain_command"
        case idempotencyKeyReused = "idempotency_key_reused"
        case badIdempotencyKey = "bad_idempotency_key"
        case deviceRefused = "device_refused"
        case deviceUnavailable = "device_unavailable"
        case outcomeUncertain = "outcome_uncertain"
        case notApplied = "not_applied"
        case readbackMismatch = "readback_mismatch"
        case shuttingDown = "shutting_down"
        case captureRunning = "capture_running"
        case captureExists = "capture_exists"
        case notCapturing = "not_capturing"
        case captureFailed = "capture_failed"
        /// The audit store cannot record a write (disk full or failing, read-only,
        /// or the data dir under its free-space floor): nothing is sent unrecorded.
        case auditUnavailable = "audit_unavailable"
        /// Too many streams open, for this uid (429) or in all (503).
        case tooManyStreams = "too_many_streams"
        /// Station accounts (`/v1/users`): a name or password that breaks the rules, a name taken or unknown.
        case badAccount = "bad_account"
        case badPassword = "bad_password"
        case accountExists = "account_exists"
        case unknownAccount = "unknown_account"
        case wrongPatient = "wrong_patient"
        case noImplant = "no_implant"
        case unknownPatient = "unknown_patient"
        case implantTaken = "implant_taken"
        case unknownVisit = "unknown_visit"
        case visitOpen = "visit_open"
        case visitEnded = "visit_ended"
        case acknowledgementRequired = "acknowledgement_required"
        /// A backup of the audit trail is already being made (one at a time).
        case backupRunning = "backup_running"
        /// The data dir has no room for a backup's copy of the trail besides its free-space floor.
        case insufficientStorage = "insufficient_storage"
        case `internal`
    }

    public var description: String { field.map { "\($0): \(message)" } ?? message }

    public var json: JSONValue {
        var e: JSONObject = ["code": .string(code.rawValue), "message": .string(message)]
        if let field { e["field"] = .string(field) }
        if let commandID { e["command_id"] = .string(commandID) }
        return .object(["error": .object(e)])
    }

    // Common shapes.
    public static func missing(_ field: String) -> APIError {
        APIError(400, .missingField, "the field is required", field: field)
    }
    public static func wrongType(_ field: String, expected: String) -> APIError {
        APIError(400, .wrongType, "must be \(expected)", field: field)
    }
    /// The HTTP status that goes with a code, for answers rebuilt from the audit trail.
    public static func status(of code: Code) -> Int {
        switch code {
        case .forbidden: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .tooLarge: 413
        case .unsupportedMediaType: 415
        case .uncertainCommand, .noDrugLoaded, .notApplied, .overrideRequired, .bolusActive: 409
        case .captureRunning, .captureExists, .notCapturing, .accountExists, .backupRunning: 409
        case .wrongPatient, .noImplant, .implantTaken, .visitOpen, .visitEnded, .acknowledgementRequired: 409
        case .unknownAccount, .unknownPatient, .unknownVisit: 404
        case .idempotencyKeyReused, .deviceRefused: 422
        case .deviceUnavailable, .shuttingDown: 503
        case .insufficientStorage: 507
        case .outcomeUncertain: 202
        case .readbackMismatch: 502
        case .internal, .captureFailed: 500
        default: 400
        }
    }

    public static func range(_ field: String, _ rule: String) -> APIError {
        APIError(400, .outOfRange, rule, field: field)
    }
}
