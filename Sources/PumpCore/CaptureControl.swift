import Audit
import Capture
import Link
import Synchronization

/// Recording the link into a capture file (spec/captures.md): started by
/// `--capture FILE` or `POST /v1/capture`, stopped by `DELETE /v1/capture` or
/// at shutdown. One recording at a time; it sees the link's bytes through
/// `LinkTap`, so what it writes is exactly what crossed the wire.
public final class CaptureControl: Sendable {
    let link: SerialLink
    /// Where `POST /v1/capture` puts its files: DATA_DIR/captures.
    public let directory: String
    private let current = Mutex<CaptureRecorder?>(nil)

    init(link: SerialLink, directory: String) {
        self.link = link
        self.directory = directory
    }

    /// Why a recording did not start or stop.
    public enum Refusal: Error, Sendable, Hashable {
        case alreadyRecording(path: String)
        case exists(path: String)
        case cannotWrite(String)
        case notRecording
    }

    /// Starts recording to `path`.
    public func start(path: String) throws(Refusal) -> CaptureSummary {
        try current.withLock { rec throws(Refusal) in
            if let running = rec { throw .alreadyRecording(path: running.path) }
            let recorder: CaptureRecorder
            do {
                recorder = try CaptureRecorder(path: path, application: "pumpd (PPL/1 host)")
            } catch let problem as CaptureFileError {
                if case .exists(let p) = problem { throw .exists(path: p) }
                throw .cannotWrite(problem.description)
            } catch {
                throw .cannotWrite("\(error)")
            }
            rec = recorder
            link.setTap(Tap(recorder: recorder))
            return recorder.summary
        }
    }

    /// Stops the recording; throws when none is running.
    public func stop() throws(Refusal) -> CaptureSummary {
        let recorder = current.withLock { rec -> CaptureRecorder? in
            defer { rec = nil }
            if rec != nil { link.setTap(nil) }
            return rec
        }
        guard let recorder else { throw .notRecording }
        return recorder.stop()
    }

    public var summary: CaptureSummary? { current.withLock { $0?.summary } }

    /// A recording as the audit trail keeps it.
    public static func result(_ s: CaptureSummary, recording: Bool) -> CommandOutcome.CaptureResult {
        CommandOutcome.CaptureResult(
            recording: recording, path: s.path, startedUs: s.startedUs, packets: Int(s.packets), bytes: Int(s.bytes), failure: s.failure)
    }

    struct Tap: LinkTap {
        let recorder: CaptureRecorder
        func sent(_ bytes: [UInt8]) { recorder.record(.hostToDevice, bytes) }
        func received(_ bytes: ArraySlice<UInt8>) { recorder.record(.deviceToHost, bytes) }
    }
}
