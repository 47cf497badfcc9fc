import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Link
import Logging
import Messages
import Testing

@testable import Daemon
@testable import PumpCore

/// pumpd's figures as Prometheus reads them, in process: the exposition text
/// from the registry (HELP, TYPE, buckets, labels), and what the read-only
/// `--metrics` listener answers (over TCP from a real pumpd: DaemonTests/MetricsListenerTests).
@Suite("metrics: the exposition and the listener")
struct MetricsTests {
    /// One exposition, split into families: name → (help, type, sample lines).
    struct Exposition {
        var help: [String: String] = [:]
        var type: [String: String] = [:]
        var samples: [String: Double] = [:]

        init(_ text: String) {
            for line in text.split(separator: "\n") {
                if line.hasPrefix("# HELP ") {
                    let rest = line.dropFirst(7)
                    let name = String(rest.prefix { $0 != " " })
                    help[name] = String(rest.dropFirst(name.count + 1))
                } else if line.hasPrefix("# TYPE ") {
                    let parts = line.split(separator: " ")
                    if parts.count == 4 { type[String(parts[2])] = String(parts[3]) }
                } else if let space = line.lastIndex(of: " ") {
                    let value = line[line.index(after: space)...]
                    samples[String(line[..<space])] = value == "inf" || value == "+Inf" ? .infinity : Double(String(value))
                }
            }
        }

        /// The family a sample belongs to (histograms' series carry suffixes).
        func family(_ sample: String) -> String {
            let name = String(sample.prefix { $0 != "{" })
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if type[base] == "histogram" { return base }
            }
            return name
        }
    }

    static let status = Status(
        pumpStateCode: PumpState.running.rawValue, drugCode: 1, alarms: AlarmSet([.lowReservoir]),
        concentration: .init(UInt64(10_000_000)), reservoir: .init(UInt64(3_500_000)), capacity: .init(UInt64(20_000_000)),
        lowAlarm: .init(UInt64(2_000_000)), currentRate: .init(UInt64(0)), programCRC: 0, bolusRemaining: .init(UInt64(0)), batteryMillivolts: 2_950, batteryMonthsLeft: 41,
        deviceTime: UnixTime(seconds: 1_767_268_800), lastRefillTime: UnixTime(seconds: 1_767_000_000), eventHead: 0)

    static func scrape(_ rig: RouteRig, _ client: some TestClientProtocol) async throws -> (String, HTTPFields) {
        try await client.execute(uri: "/metrics", method: .get) { r in
            #expect(r.status == .ok)
            return (String(buffer: r.body), r.headers)
        }
    }

    @Test("every family has HELP and TYPE, every declared metric is there, histograms have buckets, routes are templates")
    func exposition() async throws {
        let rig = try RouteRig()
        defer { rig.remove() }
        let pump = rig.routes.pump
        // What the link would report, and a status as the pump would send it.
        pump.handle(.observed(.roundTrip(milliseconds: 12)))
        pump.handle(.observed(.frameRefused(.crc)))
        pump.handle(.observed(.frameRefused(.mac)))
        pump.handle(.observed(.retransmission))
        pump.handle(.observed(.busy))
        // As refreshStatus caches and records a status the pump sent.
        pump.snapshot.withLock {
            $0.status = Self.status
            $0.statusAtMs = PumpService.nowMs() - 2_500
        }
        pump.recordStatus(Self.status)
        rig.metrics.recordBuild(version: "1.2.3", commit: "abc1234", date: "2026-01-01")
        let text = try await rig.application().test(.router) { client in
            try await client.execute(uri: "/v1/commands/c123456", method: .get) { _ in }
            try await client.execute(uri: "/v1/no/such/path/c999", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/v1/status", method: .get) { _ in }
            // A method no route takes is one label, however it is spelt.
            for name in ["PROPFIND", "MKCOL", "LOCK"] {
                try await client.execute(uri: "/v1/status", method: try #require(HTTPRequest.Method(name))) { _ in }
            }
            let (text, headers) = try await Self.scrape(rig, client)
            #expect(headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            return text
        }
        let e = Exposition(text)
        for sample in e.samples.keys {
            let family = e.family(sample)
            #expect(!(e.help[family] ?? "").isEmpty, "no HELP for \(family)")
            #expect(e.type[family] != nil, "no TYPE for \(family)")
        }
        // Series with labels only an occurrence gives, and the simulator's and the listener's own.
        let onOccurrence: Set<String> = [
            CounterMetric.commands.name, CounterMetric.refusedWrites.name, CounterMetric.refusedWritesSummarised.name,
            CounterMetric.simulatorRestarts.name, CounterMetric.metricsConnectionsRefused.name,
            // Replication's, with --replica only: Tests/clinic/test_replication.py reads them from pumpds that replicate.
            CounterMetric.replicaShipped.name, CounterMetric.replicaFailures.name, GaugeMetric.replicaUp.name,
            GaugeMetric.replicaLagRecords.name, GaugeMetric.replicaLagSeconds.name,
        ]
        for entry in MetricCatalogue.all where !onOccurrence.contains(entry.name) {
            #expect(e.type[entry.name] == entry.type, "\(entry.name) is not exposed as a \(entry.type)")
            #expect(e.help[entry.name] == entry.help)
        }
        // Routes are templates: no id, no raw unknown path, in any label.
        #expect(!text.contains("c123456") && !text.contains("c999"))
        #expect(e.samples[#"pumpd_http_requests_total{route="GET /v1/commands/{id}",status="404"}"#] == 1)
        #expect(e.samples[#"pumpd_http_requests_total{route="GET NotFound",status="404"}"#] == 1)
        #expect(!text.contains("PROPFIND") && !text.contains("MKCOL"))
        #expect(e.samples.keys.filter { $0.hasPrefix(#"pumpd_http_requests_total{route="OTHER "#) }.map { e.samples[$0] ?? 0 }.reduce(0, +) == 3)
        let route = #"route="GET /v1/status",status="200""#  // from the status cached above
        #expect(e.samples["pumpd_http_request_duration_seconds_count{\(route)}"] == 1)
        #expect(e.samples["pumpd_http_request_duration_seconds_bucket{\(route),le=\"30.0\"}"] == 1)
        #expect(e.samples["pumpd_http_request_duration_seconds_bucket{\(route),le=\"0.0005\"}"] != nil)
        // The link's figures.
        #expect(e.samples[#"pumpd_link_round_trip_seconds_bucket{le="0.01"}"#] == 0)
        #expect(e.samples[#"pumpd_link_round_trip_seconds_bucket{le="0.02"}"#] == 1)
        #expect(e.samples[#"pumpd_link_round_trip_seconds_bucket{le="+Inf"}"#] == 1)
        #expect(e.samples["pumpd_link_round_trip_seconds_sum"] == 0.012)
        #expect(e.samples[#"pumpd_link_frames_refused_total{reason="crc"}"#] == 1)
        #expect(e.samples[#"pumpd_link_frames_refused_total{reason="mac"}"#] == 1)
        #expect(e.samples[#"pumpd_link_frames_refused_total{reason="cobs"}"#] == 0)
        #expect(e.samples["pumpd_link_retransmissions_total"] == 1)
        #expect(e.samples["pumpd_link_busy_answers_total"] == 1)
        #expect(e.samples["pumpd_link_up"] == 0)
        // The pump's gauges from the status.
        #expect(e.samples["pumpd_pump_reservoir_millilitres"] == 3.5)
        #expect(e.samples["pumpd_pump_reservoir_low_alarm_millilitres"] == 2)
        #expect(e.samples["pumpd_pump_battery_volts"] == 2.95)
        #expect(e.samples["pumpd_pump_battery_months_left"] == 41)
        #expect(e.samples[#"pumpd_pump_alarm{alarm="low_reservoir"}"#] == 1)
        #expect(e.samples[#"pumpd_pump_alarm{alarm="elective_replacement"}"#] == 0)
        #expect(e.samples[#"pumpd_pump_state{state="running"}"#] == 1)
        #expect(e.samples[#"pumpd_pump_state{state="suspended"}"#] == 0)
        // No program: nothing flows, so the levels are never reached.
        #expect(e.samples["pumpd_pump_low_reservoir_in_seconds"] == .infinity)
        #expect(e.samples["pumpd_pump_reservoir_empty_in_seconds"] == .infinity)
        #expect(e.samples[#"pumpd_build_info{commit="abc1234",date="2026-01-01",version="1.2.3"}"#] == 1)
        #expect(e.samples["pumpd_uncertain_commands"] == 0)
        #expect(e.samples["pumpd_uncertain_command_oldest_age_seconds"] == 0)
        #expect(e.samples[#"pumpd_log_lines_dropped_total{sink="file"}"#] == 0)
        #expect((e.samples["pumpd_status_age_seconds"] ?? 0) >= 2.5)
        #expect(e.samples["pumpd_audit_unavailable_total"] == 0)
    }

    /// README.md lists every metric pumpd declares, with its type.
    @Test func readmeListsEveryMetric() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md").path
        let readme = try String(contentsOfFile: path, encoding: .utf8)
        for entry in MetricCatalogue.all {
            #expect(readme.contains("`\(entry.name)") && readme.contains(entry.type), "README.md does not list \(entry.name)")
        }
    }

    @Test("two daemons' metrics in one process stay apart; a mirrored counter never goes back")
    func registriesAreApart() {
        let a = Metrics(), b = Metrics()
        a.increment(.eventsMirrored, by: 3)
        #expect(a.text().contains("pumpd_events_mirrored_total 3"))
        #expect(!b.text().contains("pumpd_events_mirrored_total"))
        a.advance(.connectionsRefused, to: 5)
        a.advance(.connectionsRefused, to: 2)  // its owner started again: nothing is taken back
        a.advance(.connectionsRefused, to: 7)
        #expect(a.text().contains("pumpd_connections_refused_total 7"))
        // Labels given in another order are the same series.
        a.increment(.commands, [("state", "succeeded"), ("kind", "bolus")])
        a.increment(.commands, [("kind", "bolus"), ("state", "succeeded")])
        #expect(a.text().contains(#"pumpd_commands_total{kind="bolus",state="succeeded"} 2"#))
    }

    @Test("the projection's seconds: reached is 0, never is +Inf, else the difference")
    func projectionSeconds() {
        #expect(PumpService.secondsUntil(nil, already: true, from: 100) == 0)
        #expect(PumpService.secondsUntil(nil, already: false, from: 100) == .infinity)
        #expect(PumpService.secondsUntil(700, already: false, from: 100) == 600)
        #expect(PumpService.secondsUntil(Int64.max, already: false, from: Int64.min) == .infinity)
    }

    @Test("the listener decides from the head alone")
    func decide() {
        let cases: [(HTTPRequest.Method, String, HTTPFields, MetricsListener.Answer)] = [
            (.get, "/metrics", [:], .metrics(head: false)),
            (.head, "/metrics", [:], .metrics(head: true)),
            (.get, "/metrics", [.contentLength: "0"], .metrics(head: false)),
            (.get, "/metrics", [.contentLength: "5"], .bodyRefused),
            (.get, "/metrics", [.transferEncoding: "chunked"], .bodyRefused),
            (.post, "/metrics", [:], .methodNotAllowed),
            (.delete, "/metrics", [:], .methodNotAllowed),
            (.get, "/metrics/", [:], .notFound),
            (.get, "/Metrics", [:], .notFound),
            (.get, "/v1/status", [:], .notFound),
            (.post, "/v1/bolus", [:], .notFound),
            (.get, "/", [:], .notFound),
        ]
        for (method, path, headers, answer) in cases {
            #expect(MetricsListener.decide(method: method, path: path, headers: headers) == answer, "\(method) \(path) \(headers)")
        }
    }
}
