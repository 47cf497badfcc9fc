import Foundation
import Synchronization

/// Counters and gauges for `GET /metrics`, in Prometheus's text format.
/// Few enough that a dictionary under a lock is the whole implementation.
public final class Metrics: Sendable {
    struct Key: Hashable, Comparable {
        var name: String
        var labels: String
        static func < (a: Key, b: Key) -> Bool { (a.name, a.labels) < (b.name, b.labels) }
    }
    let counters = Mutex<[Key: Double]>([:])
    let help: [String: (type: String, text: String)] = [
        "pumpd_http_requests_total": ("counter", "HTTP requests answered, by route and status."),
        "pumpd_http_request_seconds_sum": ("counter", "Time spent answering HTTP requests, by route."),
        "pumpd_commands_total": ("counter", "Commands by kind and the state they reached."),
        "pumpd_events_mirrored_total": ("counter", "Pump events written to the audit mirror."),
        "pumpd_security_events_total": ("counter", "Frames that failed authentication or looked hostile."),
        "pumpd_link_up": ("gauge", "1 while a session with a trusted device is open."),
        "pumpd_uncertain_commands": ("gauge", "Commands whose outcome the event log has not yet settled."),
        "pumpd_status_age_seconds": ("gauge", "Age of the cached status."),
        "pumpd_simulator": ("gauge", "1 when pumpd talks to the embedded simulator, not a device."),
        "pumpd_simulator_restarts_total": ("counter", "Times the embedded simulator was started again after it died."),
        "pumpd_log_lines_dropped_total": ("counter", "Log lines a sink could not take (sink: file, pumpd.log in the data dir; stderr), counted and dropped."),
        "pumpd_data_dir_free_bytes": ("gauge", "Free space in the data dir; under 64 MiB, writes are refused (503 audit_unavailable)."),
        "pumpd_audit_unavailable_total": ("counter", "Writes refused (503 audit_unavailable) or outcomes kept for later because the audit store could not record them."),
        "pumpd_refused_writes_total": ("counter", "Writes refused (403) because the peer is not a clinician, by uid."),
        "pumpd_refused_writes_summarised_total": ("counter", "Refused writes counted in a per-uid summary row instead of a row each, by uid."),
        "pumpd_streams_open": ("gauge", "Open event and log streams."),
        "pumpd_connections_open": ("gauge", "Open client connections on the socket."),
        "pumpd_connections_refused_total": ("counter", "Connections closed at once because they were over the descriptor budget."),
    ]

    public init() {}

    static func labels(_ l: [(String, String)]) -> String {
        l.map { "\($0.0)=\"\($0.1.replacingOccurrences(of: "\"", with: "'"))\"" }.joined(separator: ",")
    }

    public func add(_ name: String, _ labels: [(String, String)] = [], _ v: Double = 1) {
        counters.withLock { $0[Key(name: name, labels: Self.labels(labels)), default: 0] += v }
    }

    public func set(_ name: String, _ labels: [(String, String)] = [], _ v: Double) {
        counters.withLock { $0[Key(name: name, labels: Self.labels(labels))] = v }
    }

    public func text() -> String {
        let all = counters.withLock { $0 }.sorted { $0.key < $1.key }
        var out = "", last = ""
        for (k, v) in all {
            if k.name != last, let h = help[k.name] {
                out += "# HELP \(k.name) \(h.text)\n# TYPE \(k.name) \(h.type)\n"
            }
            last = k.name
            let value = v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
            out += k.labels.isEmpty ? "\(k.name) \(value)\n" : "\(k.name){\(k.labels)} \(value)\n"
        }
        return out
    }
}
