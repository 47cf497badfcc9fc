/// Why a chunk of wire bytes did not become a usable frame. The raw values are
/// the names `pumpctl frame decode` prints and `spec/protocol.md` defines.
public enum FrameError: String, Error, Sendable, CaseIterable, Hashable {
    /// The chunk is not a valid COBS encoding (§2). Discarded silently.
    case cobs
    /// The decoded body is shorter than 28 bytes (§2). Discarded silently.
    case short
    /// The CRC-32C does not match (§2). Discarded silently.
    case crc
    /// 1,100 bytes arrived without a delimiter; they and everything up to the
    /// next 0x00 were dropped (§2).
    case oversize
    /// CRC matches but `version` is not 1 (§3): malformed.
    case version
    /// CRC matches but `len` is over 1024 or disagrees with the body length (§3): malformed.
    case length
    /// CRC matches but `kind` is unknown, or a valid kind travelling the wrong
    /// way (a request arriving at a host, a response or event at a device) (§3): malformed.
    case kind
    /// The mac does not verify with the session key (§4).
    case mac

    /// Malformed bodies passed the CRC: their header fields are readable, and a
    /// device answers them BAD_FRAME (§3). The others are discarded silently.
    public var isMalformed: Bool {
        switch self {
        case .version, .length, .kind: true
        default: false
        }
    }
}
