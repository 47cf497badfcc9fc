import Foundation
import Simulator

/// `--state-file`: the implant's state saved as JSON, so that a restarted
/// simulator is the same pump (same log, reservoir, program). Written to a
/// temporary file, synced and renamed over the old one, so a crash leaves
/// either the old state or the new, never half of one.
struct StateFile {
    let path: String
    var lastSaved: ImplantSnapshot?

    func load() throws -> Implant? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(ImplantSnapshot.self, from: data).implant()
    }

    /// Saves `implant` if it changed since the last save.
    mutating func save(_ implant: Implant) {
        let snapshot = ImplantSnapshot(implant)
        guard snapshot != lastSaved else { return }
        do {
            let data = try JSONEncoder().encode(snapshot)
            let temporary = path + ".tmp"
            _ = FileManager.default.createFile(atPath: temporary, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
            lastSaved = snapshot
        } catch {
            Log.error("cannot save the state file", ["path": path, "error": "\(error)"])
        }
    }
}
