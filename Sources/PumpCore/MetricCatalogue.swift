/// A counter pumpd exposes: a name ending `_total` and what it counts.
public struct CounterMetric: Sendable, Hashable {
    public let name: String
    public let help: String
}

/// A gauge pumpd exposes: its name carries its unit, and its HELP says what it is.
public struct GaugeMetric: Sendable, Hashable {
    public let name: String
    public let help: String
}

/// A histogram of durations in seconds, with buckets chosen for what it times.
public struct TimerMetric: Sendable, Hashable {
    public let name: String
    public let help: String
    public let buckets: [Duration]

    /// HTTP answers: most come from pumpd's cache or the audit store within
    /// a millisecond or two; a write waits for the pump, a round trip of
    /// 10–400 ms by line rate, a few with BUSY pauses (100 ms each) or
    /// retransmissions (each 500 ms plus the frame's line time), so the
    /// slowest run to a few seconds. 0.5 ms up to 30 s covers both ends.
    static let httpBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30),
    ]

    /// Link round trips: a request and its answer at 921600 baud take about
    /// 2 ms on the line, at 115200 about 10 ms, at 9600 up to 0.3 s (a
    /// 300-byte READ_EVENTS answer); the device adds a few ms. An answer
    /// later than 500 ms plus the line time is retransmitted for, so nothing
    /// past about 2 s is ever timed (Karn's rule drops answers to copies).
    static let roundTripBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50),
        .milliseconds(100), .milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2),
    ]
}

extension CounterMetric {
    public static let httpRequests = CounterMetric(
        name: "pumpd_http_requests_total",
        help: "HTTP requests answered on the Unix socket, by route (method and path template) and status code.")
    public static let commands = CounterMetric(
        name: "pumpd_commands_total",
        help: "Commands (writes to the pump) by kind and the state they reached: succeeded, failed, not_sent, uncertain, refused (403), and the states an uncertain one is settled to.")
    public static let eventsMirrored = CounterMetric(
        name: "pumpd_events_mirrored_total", help: "Pump events written to the audit store's mirror of the pump's log.")
    public static let securityEvents = CounterMetric(
        name: "pumpd_security_events_total",
        help: "Frames from the device side that failed authentication or looked hostile (replayed, stale, wrong mac), discarded.")
    public static let simulatorRestarts = CounterMetric(
        name: "pumpd_simulator_restarts_total", help: "Times the embedded simulator was started again after it died.")
    public static let logLinesDropped = CounterMetric(
        name: "pumpd_log_lines_dropped_total",
        help: "Log lines a sink could not take, counted and dropped, by sink (file: pumpd.log in the data dir; stderr).")
    public static let replicaShipped = CounterMetric(
        name: "pumpd_replica_records_shipped_total",
        help: "Journal entries the clinic's database confirmed holding (each entry once, in order).")
    public static let replicaFailures = CounterMetric(
        name: "pumpd_replica_failures_total",
        help: "Connections to the clinic's database that failed or were lost (each is retried with backoff).")
    public static let auditUnavailable = CounterMetric(
        name: "pumpd_audit_unavailable_total",
        help: "Writes refused (503 audit_unavailable) or outcomes kept for later because the audit store could not record them.")
    public static let refusedWrites = CounterMetric(
        name: "pumpd_refused_writes_total", help: "Writes refused (403) because the peer may not make them, by uid.")
    public static let refusedWritesSummarised = CounterMetric(
        name: "pumpd_refused_writes_summarised_total",
        help: "Refused writes counted in a per-uid summary row of the audit trail instead of a row each, by uid.")
    public static let connectionsRefused = CounterMetric(
        name: "pumpd_connections_refused_total",
        help: "Connections to the Unix socket closed at once because they were over the descriptor budget.")
    public static let metricsConnectionsRefused = CounterMetric(
        name: "pumpd_metrics_connections_refused_total",
        help: "Connections to the --metrics listener closed at once because too many were open.")

    // The link (ICD §2–§5), from what the link observed (`LinkObservation`).
    public static let linkRetransmissions = CounterMetric(
        name: "pumpd_link_retransmissions_total",
        help: "Frames (HELLO or a request) written again because no answer came in time.")
    public static let linkFramesRefused = CounterMetric(
        name: "pumpd_link_frames_refused_total",
        help: "Chunks from the device refused, by reason: crc (CRC-32C mismatch), mac (did not verify under the session key), cobs, short, oversize, version, length, kind.")
    public static let linkBusyAnswers = CounterMetric(
        name: "pumpd_link_busy_answers_total", help: "Answers BUSY from the device; the same frame goes again after 100 ms.")
    public static let linkAuthFailedAnswers = CounterMetric(
        name: "pumpd_link_auth_failed_answers_total",
        help: "Answers AUTH_FAILED from the device: it could not verify pumpd's mac; a new session follows.")
    public static let linkSessions = CounterMetric(
        name: "pumpd_link_sessions_opened_total",
        help: "Sessions opened with a device that proved it holds the pairing key (HELLO verified), the first included.")
    public static let linkReconnects = CounterMetric(
        name: "pumpd_link_reconnects_total", help: "Sessions opened again after the link had gone down.")
}

extension GaugeMetric {
    public static let linkUp = GaugeMetric(
        name: "pumpd_link_up", help: "1 while a session with a trusted device is open, else 0.")
    public static let uncertainCommands = GaugeMetric(
        name: "pumpd_uncertain_commands",
        help: "Commands whose outcome the pump's event log has not yet settled; no other write goes out meanwhile.")
    public static let uncertainOldestAge = GaugeMetric(
        name: "pumpd_uncertain_command_oldest_age_seconds",
        help: "Seconds since the oldest uncertain command was made (0 when there is none).")
    public static let statusAge = GaugeMetric(
        name: "pumpd_status_age_seconds", help: "Seconds since the cached pump status was read from the pump.")
    public static let simulator = GaugeMetric(
        name: "pumpd_simulator", help: "1 when pumpd talks to the embedded simulator, not a device.")
    public static let dataDirFree = GaugeMetric(
        name: "pumpd_data_dir_free_bytes",
        help: "Free bytes in the data dir; under 64 MiB, writes are refused (503 audit_unavailable).")
    public static let streamsOpen = GaugeMetric(name: "pumpd_streams_open", help: "Open event and log streams on the socket.")
    public static let connectionsOpen = GaugeMetric(name: "pumpd_connections_open", help: "Open client connections on the Unix socket.")
    public static let buildInfo = GaugeMetric(
        name: "pumpd_build_info", help: "Always 1; the labels say which build of pumpd runs (version, commit, date).")

    // The pump, from the last status read (ICD §9.1); absent until one was read.
    public static let reservoir = GaugeMetric(
        name: "pumpd_pump_reservoir_millilitres", help: "Drug left in the reservoir, mL, as the pump last reported.")
    public static let reservoirCapacity = GaugeMetric(
        name: "pumpd_pump_reservoir_capacity_millilitres", help: "The reservoir's capacity, mL.")
    public static let reservoirLowAlarm = GaugeMetric(
        name: "pumpd_pump_reservoir_low_alarm_millilitres", help: "The volume at which the pump raises its low-reservoir alarm, mL.")
    public static let secondsToLowAlarm = GaugeMetric(
        name: "pumpd_pump_low_reservoir_in_seconds",
        help: "Seconds until the reservoir reaches its low-alarm volume if the program runs with every bolus it allows (the projection clinicians see); 0 when reached, +Inf when nothing flows.")
    public static let secondsToEmpty = GaugeMetric(
        name: "pumpd_pump_reservoir_empty_in_seconds",
        help: "Seconds until the reservoir is empty, projected as for the low alarm; 0 when empty, +Inf when nothing flows.")
    public static let batteryVolts = GaugeMetric(name: "pumpd_pump_battery_volts", help: "The implant's battery voltage, V.")
    public static let batteryMonths = GaugeMetric(
        name: "pumpd_pump_battery_months_left", help: "The implant's own estimate of battery life left, months.")
    public static let alarm = GaugeMetric(
        name: "pumpd_pump_alarm",
        help: "1 while the pump reports the alarm named by the label (ICD §10: low_reservoir, reservoir_empty, elective_replacement, end_of_service, motor_stall, clock_not_set, memory_fault), else 0.")
    public static let pumpState = GaugeMetric(
        name: "pumpd_pump_state",
        help: "1 for the state the pump reports (running, suspended, bolus_running, motor_stalled, end_of_service, reservoir_empty), 0 for the others.")
    public static let replicaUp = GaugeMetric(
        name: "pumpd_replica_up",
        help: "1 while connected to the clinic's database (shipping or caught up), 0 otherwise; absent when replication is off.")
    public static let replicaLagRecords = GaugeMetric(
        name: "pumpd_replica_lag_records", help: "Journal entries not yet confirmed by the clinic's database.")
    public static let replicaLagSeconds = GaugeMetric(
        name: "pumpd_replica_lag_seconds", help: "Age of the oldest journal entry not yet in the clinic's database, seconds (0 when caught up).")
    public static let journalEntries = GaugeMetric(
        name: "pumpd_journal_entries", help: "Entries in the audit trail's journal (the hash chain): the seq of the newest.")
}

extension TimerMetric {
    public static let httpDuration = TimerMetric(
        name: "pumpd_http_request_duration_seconds",
        help: "Time from a request's head to its answer's head on the Unix socket, seconds, by route and status (a stream's time is to its first byte).",
        buckets: httpBuckets)
    public static let linkRoundTrip = TimerMetric(
        name: "pumpd_link_round_trip_seconds",
        help: "Time from writing a request to its authenticated answer, seconds; frames that were retransmitted are not timed.",
        buckets: roundTripBuckets)
}

/// Every metric pumpd declares, by name: the one place HELP texts and buckets come from.
public enum MetricCatalogue {
    public struct Entry: Sendable {
        public let name: String
        public let type: String
        public let help: String
        public let buckets: [Duration]?
    }

    public static let counters: [CounterMetric] = [
        .httpRequests, .commands, .eventsMirrored, .securityEvents, .simulatorRestarts, .logLinesDropped, .auditUnavailable,
        .refusedWrites, .refusedWritesSummarised, .connectionsRefused, .metricsConnectionsRefused, .linkRetransmissions,
        .linkFramesRefused, .linkBusyAnswers, .linkAuthFailedAnswers, .linkSessions, .linkReconnects, .replicaShipped, .replicaFailures,
    ]
    public static let gauges: [GaugeMetric] = [
        .linkUp, .uncertainCommands, .uncertainOldestAge, .statusAge, .simulator, .dataDirFree, .streamsOpen, .connectionsOpen,
        .buildInfo, .reservoir, .reservoirCapacity, .reservoirLowAlarm, .secondsToLowAlarm, .secondsToEmpty, .batteryVolts,
        .batteryMonths, .alarm, .pumpState, .replicaUp, .replicaLagRecords, .replicaLagSeconds, .journalEntries,
    ]
    public static let timers: [TimerMetric] = [.httpDuration, .linkRoundTrip]

    public static let all: [Entry] =
        counters.map { Entry(name: $0.name, type: "counter", help: $0.help, buckets: nil) }
        + gauges.map { Entry(name: $0.name, type: "gauge", help: $0.help, buckets: nil) }
        + timers.map { Entry(name: $0.name, type: "histogram", help: $0.help, buckets: $0.buckets) }

    static let byName: [String: Entry] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
}
