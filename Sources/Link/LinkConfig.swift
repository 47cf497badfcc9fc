/// The timing rules of ICD §4–§5 as the host applies them.
public struct LinkConfig: Sendable, Hashable {
    /// The line rate, for the transmission time added to the response timeout.
    public var baud: Int
    /// §5: the host waits 500 ms plus the frame's time on the line.
    public var responseTimeoutMs: Int64 = 500
    /// §5: after 3 retransmissions without a response the link is down.
    public var retransmissions = 3
    /// §5: BUSY means the same request again after at least 100 ms.
    public var busyDelayMs: Int64 = 100
    /// BUSY answers in a row before a request is given up (it was not accepted).
    public var maxBusy = 50
    /// §4: a PING at least every 10 s keeps an idle session (which expires after 30 s).
    public var keepaliveMs: Int64 = 8_000
    /// The largest payload this host accepts (sent in HELLO, 512…1024).
    public var maxPayload: UInt16 = 1024
    /// Back-off between attempts to reach an unresponsive device: first and last.
    public var reconnectMinMs: Int64 = 250
    public var reconnectMaxMs: Int64 = 8_000

    public init(baud: Int = 115_200) {
        self.baud = baud
    }

    /// 500 ms plus the time `bytes` take at the line rate (10 bits a byte).
    public func timeout(forWireBytes bytes: Int) -> Int64 {
        responseTimeoutMs + (Int64(bytes) * 10 * 1000 + Int64(baud) - 1) / Int64(baud)
    }
}
