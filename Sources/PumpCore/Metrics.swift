import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// pumpd's figures for Prometheus: swift-metrics' counters, gauges and timers
/// over a `PrometheusCollectorRegistry` that this instance owns, so that
/// several daemons' worth of routes in one test process never share one
/// (there is no global `MetricsSystem.bootstrap`). The exposition text comes
/// from the registry. Every metric is declared once in `MetricCatalogue`,
/// with its HELP text and unit; a name not declared there cannot be used.
public final class Metrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: CatalogueFactory
    /// Counters that mirror a count kept elsewhere (the log's dropped lines,
    /// the socket's refused connections): the last total seen per series.
    let mirrored = Mutex<[String: UInt64]>([:])
    /// Run before each exposition, for figures read at scrape time.
    let refreshers = Mutex<[@Sendable (Metrics) -> Void]>([])

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = CatalogueFactory(registry: registry)
    }

    /// Labels in name order: the registry tells series apart by their labels
    /// in the order given, and one series must not appear twice.
    static func ordered(_ labels: [(String, String)]) -> [(String, String)] {
        labels.sorted { $0.0 < $1.0 }
    }

    public func increment(_ m: CounterMetric, _ labels: [(String, String)] = [], by amount: UInt64 = 1) {
        CoreMetrics.Counter(label: m.name, dimensions: Self.ordered(labels), factory: factory)
            .increment(by: Int64(clamping: amount))
    }

    /// Makes the series exist at zero, so that rate() and dashboards see it
    /// before the first occurrence.
    public func touch(_ m: CounterMetric, _ labels: [(String, String)] = []) {
        increment(m, labels, by: 0)
    }

    /// Advances a counter that mirrors `total`, a count kept elsewhere that
    /// only grows. A total lower than the last one seen (its owner started
    /// again) adds nothing: a counter never goes back.
    public func advance(_ m: CounterMetric, _ labels: [(String, String)] = [], to total: UInt64) {
        let ordered = Self.ordered(labels)
        let key = m.name + "{" + ordered.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        let delta = mirrored.withLock { seen -> UInt64 in
            let last = seen[key] ?? 0
            seen[key] = max(last, total)
            return total > last ? total - last : 0
        }
        increment(m, ordered, by: delta)
    }

    public func set(_ m: GaugeMetric, _ value: Double) { set(m, [], value) }

    public func set(_ m: GaugeMetric, _ labels: [(String, String)], _ value: Double) {
        CoreMetrics.Gauge(label: m.name, dimensions: Self.ordered(labels), factory: factory).record(value)
    }

    public func record(_ m: TimerMetric, _ duration: Duration) { record(m, [], duration) }

    public func record(_ m: TimerMetric, _ labels: [(String, String)], _ duration: Duration) {
        CoreMetrics.Timer(label: m.name, dimensions: Self.ordered(labels), factory: factory).record(duration: max(.zero, duration))
    }

    /// `pumpd_build_info{version,commit,date} 1`: which build is running.
    public func recordBuild(version: String, commit: String, date: String) {
        set(.buildInfo, [("version", version), ("commit", commit), ("date", date)], 1)
    }

    /// Adds a figure read at scrape time (a gauge of something pumpd does not track as it changes).
    /// `refresh` is handed this `Metrics`, so it need not hold it (which would make a cycle).
    public func onScrape(_ refresh: @escaping @Sendable (Metrics) -> Void) {
        refreshers.withLock { $0.append(refresh) }
    }

    /// The exposition text (Prometheus text format 0.0.4), figures read at scrape time refreshed first.
    public func text() -> String {
        for refresh in refreshers.withLock({ $0 }) { refresh(self) }
        return registry.emitToString()
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}

/// swift-metrics' factory for one `Metrics`: each name is looked up in the
/// catalogue for its HELP text and buckets, so that every family the registry
/// emits says what it is. (The registry stops the process on one name given
/// two HELP texts or two bucket lists; one catalogue entry per name rules that out.)
struct CatalogueFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricCatalogue.byName[label]?.help ?? "")
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        // pumpd records no value histograms: its histograms are of durations (Timer).
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = MetricCatalogue.byName[label]?.buckets ?? TimerMetric.httpBuckets
        return registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    // pumpd's series live as long as the process: nothing is destroyed.
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
