/// One thing a check found about a planned command.
public struct Finding: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Hashable, Codable {
        /// Never passes (a device hard limit, or a library hard limit).
        case hard
        /// Passes only with a named override and a reason (the drug library's soft limits).
        case soft
        /// Something the person must know; it stops nothing.
        case info
    }
    public var severity: Severity
    /// A stable name for the rule, which an override names.
    public var rule: String
    public var field: String?
    public var message: String
    /// Where the rule comes from (ICD section, library entry, clinical source).
    public var source: String

    public init(severity: Severity, rule: String, field: String?, message: String, source: String) {
        self.severity = severity
        self.rule = rule
        self.field = field
        self.message = message
        self.source = source
    }

    /// The override that lets a soft finding pass, if one was given.
    public var override: Override?
}
