import DoseSafety
import Messages
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
    /// The volume of the pump's internal path from the reservoir to the
    /// catheter port: it holds the old drug after a drug change as the
    /// catheter does. No public source gives it for the pumps here, so it is
    /// the clinic's setting (`pump_path_volume`); 0 until set, and said so.
    public var pumpPathVolume: Nanolitres

    public init(
        dataDir: String, baud: Baud, statusPollSeconds: Int, captureFile: String?, isSimulator: Bool, pumpPathVolume: Nanolitres = .zero
    ) {
        self.dataDir = dataDir
        self.baud = baud
        self.statusPollSeconds = statusPollSeconds
        self.captureFile = captureFile
        self.isSimulator = isSimulator
        self.pumpPathVolume = pumpPathVolume
    }

    /// Where `POST /v1/capture` puts its files.
    public var capturesDirectory: String { dataDir + "/captures" }
}
