import API
import Audit
import Capture
import Foundation
import JSON
import Link
import Messages
import Synchronization

/// Recording the link into a capture file (spec/captures.md): started by
/// `--capture FILE` or `POST /v1/capture`, stopped by `DELETE /v1/capture` or
/// at shutdown. One recording at a time; it sees the link's bytes through
/// `LinkTap`, so what it writes is exactly what crossed the wire.
final class CaptureControl: Sendable {
    let link: SerialLink
    /// Where `POST /v1/capture` puts its files: DATA_DIR/captures.
    let directory: String
    private let current = Mutex<CaptureRecorder?>(nil)

    init(link: SerialLink, directory: String) {
        self.link = link
        self.directory = directory
    }

    /// A name a client may give: it becomes a file in the captures folder,
    /// so it must not reach outside it.
    static func fileName(_ name: String) throws -> String {
        let allowed = name.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "._-".unicodeScalars.contains($0) }
        guard (1...64).contains(name.count), allowed, !name.hasPrefix(".") else {
            throw APIError(400, .badRequest, "a capture name is 1…64 letters, digits, '.', '_' or '-', not starting with '.'", field: "name")
        }
        return name.hasSuffix(".pcapng") ? name : name + ".pcapng"
    }

    static func defaultName(nowMs: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "capture-" + f.string(from: Date(timeIntervalSince1970: Double(nowMs) / 1000))
    }

    /// Starts recording to `path`; throws an `APIError` that says why not.
    func start(path: String) throws -> CaptureSummary {
        try current.withLock { rec in
            if let running = rec {
                throw APIError(409, .captureRunning, "a capture is already recording to \(running.path); stop it first (DELETE /v1/capture)")
            }
            let recorder: CaptureRecorder
            do {
                recorder = try CaptureRecorder(path: path, application: "pumpd (PPL/1 host)")
            } catch let problem as CaptureFileError {
                if case .exists(let p) = problem {
                    throw APIError(409, .captureExists, "\(p) already exists; a capture never overwrites a file: choose another name")
                }
                throw APIError(500, .captureFailed, problem.description)
            }
            rec = recorder
            link.setTap(Tap(recorder: recorder))
            return recorder.summary
        }
    }

    /// Stops the recording; throws when none is running.
    func stop() throws -> CaptureSummary {
        let recorder = current.withLock { rec -> CaptureRecorder? in
            defer { rec = nil }
            if rec != nil { link.setTap(nil) }
            return rec
        }
        guard let recorder else {
            throw APIError(409, .notCapturing, "no capture is recording; start one with POST /v1/capture")
        }
        return recorder.stop()
    }

    var summary: CaptureSummary? { current.withLock { $0?.summary } }

    /// A recording as the audit trail keeps it.
    static func result(_ s: CaptureSummary, recording: Bool) -> CommandOutcome.CaptureResult {
        CommandOutcome.CaptureResult(
            recording: recording, path: s.path, startedUs: s.startedUs, packets: Int(s.packets), bytes: Int(s.bytes), failure: s.failure)
    }

    static func json(_ s: CaptureSummary, recording: Bool) -> JSONValue { json(result(s, recording: recording)) }

    static func json(_ r: CommandOutcome.CaptureResult) -> JSONValue {
        var o: JSONObject = [
            "recording": .bool(r.recording),
            "path": .string(r.path),
            "started": .string(TimeText.isoMillis(r.startedUs / 1000)),
            "packets": .int(Int64(r.packets)),
            "bytes": .int(Int64(r.bytes)),
        ]
        if let f = r.failure { o["failure"] = .string(f) }
        return .object(o)
    }

    struct Tap: LinkTap {
        let recorder: CaptureRecorder
        func sent(_ bytes: [UInt8]) { recorder.record(.hostToDevice, bytes) }
        func received(_ bytes: ArraySlice<UInt8>) { recorder.record(.deviceToHost, bytes) }
    }
}
