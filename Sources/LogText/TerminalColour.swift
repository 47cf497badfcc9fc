/// Whether output may be coloured, by the rule most tools share: only to a
/// terminal, never to one that says it cannot (TERM=dumb), and never when
/// NO_COLOR is set to anything but the empty string (https://no-color.org).
public enum TerminalColour {
    public static func wanted(isTerminal: Bool, term: String?, noColor: String?) -> Bool {
        guard isTerminal else { return false }
        if let noColor, !noColor.isEmpty { return false }
        return term != "dumb"
    }
}

/// syslog(3)'s priorities for swift-log's levels, as journald reads them from
/// a line's `<N>` prefix (sd-daemon(3)): swift-log has no emergency or alert,
/// and trace is finer than syslog goes, so it shares debug's 7.
public enum SyslogPriority {
    public static func of(level: String) -> Int {
        switch level {
        case "critical": 2
        case "error": 3
        case "warning": 4
        case "notice": 5
        case "info": 6
        default: 7  // debug, trace
        }
    }
}
