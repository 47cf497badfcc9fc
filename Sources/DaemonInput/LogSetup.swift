import Foundation
import Glibc
import JSON
import LogText

/// Where and how pumpd's log goes, decided once at start from
/// `--log-format`/`log_format`, `--log-file`/`log_file`, whether stderr is
/// a terminal and whether it is journald's stream. Pure: the caller asks
/// the system (isatty, fstat, the environment) and hands the answers in.
///
/// - A terminal gets readable lines (`LogLine`), coloured unless NO_COLOR
///   or TERM=dumb says otherwise; anything else (a pipe, a file, a log
///   shipper) gets the JSON lines scripts and jq read.
/// - journald gets each line with its priority as the sd-daemon prefix
///   `<N>`, which journald strips and records (SyslogLevelPrefix=yes, its
///   default), and readable lines without the time: people read the
///   journal with `journalctl -u pumpd`, which stamps every line itself,
///   and the priority is already recorded (`journalctl -p warning` works).
///   Scripts that want structure read `pumpctl logs --json` (the same
///   lines as JSON), or force `--log-format json`.
/// - pumpd.log in the data dir is off under journald (the journal keeps,
///   rotates and ships the log; a second copy only fills the disk that the
///   audit store needs) and on otherwise, unless `--log-file` says.
///
/// The ring that `GET /v1/logs` and `pumpctl logs` read holds the JSON
/// lines in every case.
public struct LogSetup: Sendable {
    public enum Format: String, Sendable, CaseIterable { case auto, text, json }
    public enum File: String, Sendable, CaseIterable { case auto, on, off }

    /// What stderr gets.
    public var stderr: StderrStyle
    /// Whether DATA_DIR/pumpd.log is written.
    public var fileOn: Bool
    /// Whether stderr is journald's stream (JOURNAL_STREAM names it).
    public var journal: Bool

    public init(format: Format, file: File, stderrIsTerminal: Bool, journal: Bool, term: String?, noColor: String?) {
        self.journal = journal
        let text: Bool
        switch format {
        case .auto: text = journal || stderrIsTerminal
        case .text: text = true
        case .json: text = false
        }
        let colour = !journal && TerminalColour.wanted(isTerminal: stderrIsTerminal, term: term, noColor: noColor)
        stderr = StderrStyle(
            format: text ? .text(LogLine(colour: colour, showsTime: !journal)) : .json,
            priorityPrefix: journal)
        switch file {
        case .auto: fileOn = !journal
        case .on: fileOn = true
        case .off: fileOn = false
        }
    }

    /// How the start-up line describes it: "text, coloured" / "json, journald priorities".
    public var described: String {
        var parts: [String] = []
        switch stderr.format {
        case .json: parts.append("json")
        case .text(let l): parts.append(l.colour ? "text, coloured" : "text")
        }
        if journal { parts.append("journald priorities") }
        return parts.joined(separator: ", ")
    }
}

/// How a log line is written to stderr.
public struct StderrStyle: Sendable {
    public enum Format: Sendable {
        case json
        case text(LogLine)
    }
    public var format: Format
    /// Start each line with `<N>`, its syslog priority, for journald.
    public var priorityPrefix: Bool

    public static let json = StderrStyle(format: .json, priorityPrefix: false)

    public func line(json: String, entry: LogEntry) -> String {
        let body: String
        switch format {
        case .json: body = json
        case .text(let style): body = style.render(entry)
        }
        return priorityPrefix ? "<\(SyslogPriority.of(level: entry.level))>" + body : body
    }
}

/// systemd.exec(5): JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd
/// connected stdout or stderr to. It is inherited by children whose stderr
/// goes elsewhere, so it counts only when it names the stream stderr is now.
public enum JournalStream {
    /// The device and inode numbers in `value`, both decimal; nil for anything else.
    public static func parse(_ value: String) -> (device: UInt64, inode: UInt64)? {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let d = ASCIIDigits.parse(parts[0]), let i = ASCIIDigits.parse(parts[1]) else { return nil }
        return (d, i)
    }

    /// Whether `value` (the environment's JOURNAL_STREAM) names descriptor `fd`.
    public static func matches(_ value: String?, fd: Int32 = STDERR_FILENO) -> Bool {
        guard let value, let named = parse(value) else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return UInt64(st.st_dev) == named.device && UInt64(st.st_ino) == named.inode
    }
}

extension LogSetup {
    /// This process's setup: the config's choices, and what the system says
    /// of stderr (a terminal? journald's stream?) and of colour.
    public static func current(_ config: DaemonConfig, environment: [String: String] = ProcessInfo.processInfo.environment) -> LogSetup {
        LogSetup(
            format: config.logFormat, file: config.logFile, stderrIsTerminal: isatty(STDERR_FILENO) == 1,
            journal: JournalStream.matches(environment["JOURNAL_STREAM"]), term: environment["TERM"], noColor: environment["NO_COLOR"])
    }
}
