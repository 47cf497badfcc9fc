/// Where the station listens: `HOST:PORT` (an IPv4 address, `localhost`, or
/// `[IPv6]`), or `off`. An address other than loopback needs TLS (a
/// certificate and key): passwords must not cross a network in clear text.
public struct StationAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public static let `default` = StationAddress(host: "127.0.0.1", port: 8080)
    public static let takes = "HOST:PORT (127.0.0.1:8080, localhost:8080, [::1]:8080; another address only with TLS), or off"

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// nil for `off`.
    public static func parse(_ text: String) throws(Setting.Refusal) -> StationAddress? {
        if text == "off" { return nil }
        let (host, port) = try hostAndPort(text, takes: takes, ports: 1...65535)
        return StationAddress(host: host, port: port)
    }

    /// `HOST:PORT` or `[IPv6]:PORT` split and checked: the port plain digits
    /// in `ports`, the host printable ASCII without '/'; `localhost` is 127.0.0.1.
    static func hostAndPort(_ text: String, takes: String, ports: ClosedRange<Int>) throws(Setting.Refusal) -> (String, Int) {
        let got = Setting.shown(text)
        var host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw Setting.Refusal(takes: takes, got: got)
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw Setting.Refusal(takes: takes, got: got) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard portText.utf8.count <= 5, portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let port = Int(portText), ports.contains(port) else {
            throw Setting.Refusal(takes: takes + " (the port is \(ports.lowerBound)…\(ports.upperBound))", got: got)
        }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw Setting.Refusal(takes: takes, got: got)
        }
        return (host == "localhost" ? "127.0.0.1" : String(host), port)
    }

    /// On this machine only: 127.0.0.0/8, ::1, or the name localhost.
    public var isLoopback: Bool { Self.isLoopback(Substring(host)) }

    /// The refusal for an address off this machine without TLS, or nil.
    public func needsTLS(certificate: String?, key: String?) -> String? {
        if isLoopback { return (certificate == nil) == (key == nil) ? nil : "the station's TLS needs both --station-tls-cert and --station-tls-key" }
        guard certificate != nil, key != nil else {
            return "the station at \(self) would be reachable from other machines: give it TLS (--station-tls-cert FILE --station-tls-key FILE, PEM) so that no password crosses the network in clear text, or listen on 127.0.0.1"
        }
        return nil
    }

    /// 127.0.0.0/8, ::1, or the name localhost.
    static func isLoopback(_ host: Substring) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 3 && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) else { return false }
        let octets = parts.compactMap { Int($0) }
        return octets.count == 4 && octets[0] == 127 && octets.allSatisfy { $0 <= 255 }
    }
}
