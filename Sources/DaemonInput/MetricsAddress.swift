/// Where the read-only `/metrics` listener answers: `HOST:PORT` on loopback
/// (127.0.0.0/8, `localhost`, `[::1]`), or `off`. Port 0 takes a free port,
/// which pumpd logs (tests use it). Loopback only: the listener has neither
/// TLS nor sign-in, and its figures describe a patient's pump (reservoir,
/// alarms, state), so they must not cross a network in clear text to
/// whoever asks; a Prometheus elsewhere scrapes through a proxy that adds both.
public struct MetricsAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public static let takes = "HOST:PORT on loopback (127.0.0.1:9464, localhost:9464, [::1]:9464; port 0 picks a free one), or off"

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// nil for `off`.
    public static func parse(_ text: String) throws(Setting.Refusal) -> MetricsAddress? {
        if text == "off" { return nil }
        let (host, port) = try StationAddress.hostAndPort(text, takes: takes, ports: 0...65535)
        guard StationAddress.isLoopback(Substring(host)) else {
            throw Setting.Refusal(
                takes: takes + " (the listener has no TLS and no sign-in, and its figures describe a patient's pump: scrape it on this machine, or through a proxy that adds both)",
                got: Setting.shown(text))
        }
        return MetricsAddress(host: host, port: port)
    }
}
