import Serial

/// What the pump core needs of pumpd's configuration (the rest is the
/// edge's: the socket, who may write, logging).
public struct PumpSettings: Sendable, Hashable {
    /// Where the audit trail, captures and logs live; named in messages about room for the trail.
    public var dataDir: String
    public var baud: Baud
    /// How often the status is read when nothing asks for it.
    public var statusPollSeconds: Int
    /// A capture to record from the first byte, if any.
    public var captureFile: String?
    /// Whether the device is pumpsim (said in every device answer).
    public var isSimulator: Bool

    public init(dataDir: String, baud: Baud, statusPollSeconds: Int, captureFile: String?, isSimulator: Bool) {
        self.dataDir = dataDir
        self.baud = baud
        self.statusPollSeconds = statusPollSeconds
        self.captureFile = captureFile
        self.isSimulator = isSimulator
    }

    /// Where `POST /v1/capture` puts its files.
    public var capturesDirectory: String { dataDir + "/captures" }
}
