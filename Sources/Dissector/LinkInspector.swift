import Messages
import Wire

/// Reads a byte stream that may hold both directions of a link, frames and
/// noise, and describes every chunk. Given the pairing key it checks macs the
/// way each side would, following sessions through the HELLO exchanges it
/// sees: a HELLO request's nonce is remembered, and the answer's mac is checked
/// with the key derived from both nonces; when it verifies, that key checks
/// the frames after it.
public struct LinkInspector: Sendable {
    public let pairingKey: PairingKey?
    private var deframer = Deframer(receiver: .any)
    private var hostNonce: Nonce?
    private var sessionKey: SessionKey?

    public init(pairingKey: PairingKey?) {
        self.pairingKey = pairingKey
    }

    /// Bytes after the last delimiter, not yet a chunk.
    public var pendingCount: Int { deframer.pendingCount }

    /// Whether a session key is known (a verified HELLO answer was seen).
    public var hasSession: Bool { sessionKey != nil }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ yield: (FrameReport) -> Void) {
        var items: [Deframed] = []
        deframer.feed(bytes) { items.append($0) }
        for item in items { yield(inspect(item)) }
    }

    public mutating func feed(_ bytes: [UInt8]) -> [FrameReport] {
        var out: [FrameReport] = []
        bytes.withUnsafeBytes { feed($0) { out.append($0) } }
        return out
    }

    /// Describes one deframed item, checking its mac when a key is known.
    public mutating func inspect(_ item: Deframed) -> FrameReport {
        switch item {
        case .bad(let bad): return FrameReport(bad: bad)
        case .frame(let f): return FrameReport(frame: f, error: pairingKey == nil ? nil : authenticate(f))
        }
    }

    /// The mac rules of ICD §4 from the reader's side; nil when the frame passes.
    mutating func authenticate(_ f: Frame) -> FrameError? {
        guard let pairingKey else { return nil }
        let opcode = Opcode(rawValue: f.opcode)
        let status = StatusCode(rawValue: f.status)

        if f.kind == .request, opcode == .hello {
            // Unauthenticated by design: the device ignores its mac.
            if case .hello(let h)? = try? Request.decode(opcode: .hello, payload: f.payload) { hostNonce = h.hostNonce }
            return nil
        }
        if f.kind == .response, opcode == .hello, status == .ok {
            // Authenticated with the new session's key, derived from both nonces.
            guard let hostNonce, case .hello(let reply)? = try? ResponsePayload.decode(opcode: .hello, status: .ok, payload: f.payload)
            else { return .mac }
            let candidate = SessionKey(pairing: pairingKey, hostNonce: hostNonce, deviceNonce: reply.deviceNonce)
            do {
                try f.authenticate(with: candidate)
                sessionKey = candidate
                return nil
            } catch {
                return .mac
            }
        }
        // The answers a device sends with a zero mac (§4, §5): AUTH_FAILED,
        // NO_SESSION, BAD_FRAME to a malformed body, and a HELLO's errors.
        if f.kind == .response, f.isUnauthenticated,
            status == .authFailed || status == .noSession || status == .badFrame || opcode == .hello
        {
            return nil
        }
        guard let sessionKey else { return .mac }
        do {
            try f.authenticate(with: sessionKey)
            return nil
        } catch {
            return .mac
        }
    }
}
