import Foundation
import Glibc
import Testing
import Wire
@testable import Credentials

@Suite("Key files")
struct KeyFileTests {
    func write(_ text: String, mode: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

    @Test("a 0600 file of 64 hex digits loads")
    func good() throws {
        let path = try write(hex + "\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (key, warning) = try KeyFile.load(path, permissions: .ownerOnly)
        #expect(warning == nil)
        // The loaded key derives the vectors' session key.
        let s = SessionKey(pairing: key, hostNonce: Nonce(bytes: Array(0xA0...0xAF))!, deviceNonce: Nonce(bytes: Array(0xB0...0xBF))!)
        #expect(Hex.encode(s.bytesForTesting) == "0575b0dcb01234f19ad8a2bfe76cb6cd6507b01de1b40fb20e21cdca6ad7c45e")
    }

    @Test("a file others can read is refused for the daemon and flagged for tools")
    func exposed() throws {
        let path = try write(hex, mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: KeyFile.Problem.exposed(path: path, mode: UInt32(0o100644))) { try KeyFile.load(path, permissions: .ownerOnly) }
        let (_, warning) = try KeyFile.load(path, permissions: .warn)
        #expect(warning?.description.contains("chmod 600") == true)
    }

    @Test("wrong contents are refused", arguments: ["", "00", String(repeating: "0", count: 63), String(repeating: "0", count: 65), String(repeating: "g", count: 64), "0001 0203"])
    func malformed(_ text: String) throws {
        let path = try write(text, mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: KeyFile.Problem.malformed(path: path)) { try KeyFile.load(path, permissions: .ownerOnly) }
    }

    @Test("the text is judged byte by byte: only ASCII hex digits, only blanks around them")
    func parsedAsBytes() throws {
        let key = try KeyFile.parse(" \t" + hex.uppercased() + "\r\n\n", path: "k")
        let s = SessionKey(pairing: key, hostNonce: Nonce(bytes: Array(0xA0...0xAF))!, deviceNonce: Nonce(bytes: Array(0xB0...0xBF))!)
        #expect(Hex.encode(s.bytesForTesting) == "0575b0dcb01234f19ad8a2bfe76cb6cd6507b01de1b40fb20e21cdca6ad7c45e")
        let odd = [
            String(repeating: "a\u{301}", count: 64),  // combining marks: 64 characters, 192 bytes
            String(repeating: "\u{FF10}", count: 64),  // full-width zeros
            String(repeating: "\u{0660}", count: 64),  // Arabic-Indic zeros
            "0x" + String(hex.dropFirst(2)), hex + "\u{0}", hex + " 00", "\u{FEFF}" + hex, String(repeating: "0", count: 128),
        ]
        for text in odd {
            #expect(throws: KeyFile.Problem.malformed(path: "k")) { try KeyFile.parse(text, path: "k") }
        }
    }

    /// No time limit on the test itself: Swift Testing counts a test's wait for
    /// a thread of its two-thread pool (blocked by the daemon tests beside it)
    /// in its limit, which failed this test under load without any hang. Each
    /// load runs on a thread of its own instead, and must return within 10 s
    /// of starting there: a FIFO opened without O_NONBLOCK would wait for ever.
    @Test("a long file, or one that is not a file, is refused without hanging")
    func notAKeyFile() throws {
        let long = try write(hex + String(repeating: "\n", count: 2000), mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: long) }
        let fromLong = Self.loadOnItsOwnThread(long)
        guard case .failure(.malformed(let named))? = fromLong, named == long else {
            Issue.record("a key file with 2,000 trailing newlines: \(String(describing: fromLong))")
            return
        }
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("key-fifo-\(UUID().uuidString)").path
        mkfifo(fifo, 0o600)
        defer { try? FileManager.default.removeItem(atPath: fifo) }
        let fromFIFO = Self.loadOnItsOwnThread(fifo)
        #expect(fromFIFO != nil, "KeyFile.load hung on a FIFO")
        if case .success? = fromFIFO { Issue.record("a FIFO was read as a key file") }
    }

    /// KeyFile.load on a dedicated thread; nil if it has not returned 10 s after it started.
    static func loadOnItsOwnThread(_ path: String) -> Result<PairingKey, KeyFile.Problem>? {
        final class Box: @unchecked Sendable { var result: Result<PairingKey, KeyFile.Problem>? }
        let box = Box(), started = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let thread = Thread {
            started.signal()
            box.result = Result { () throws(KeyFile.Problem) in try KeyFile.load(path, permissions: .ownerOnly).0 }
            done.signal()
        }
        thread.start()
        started.wait()
        return done.wait(timeout: .now() + 10) == .success ? box.result : nil
    }

    @Test("a missing file says so")
    func missing() {
        #expect(throws: KeyFile.Problem.self) { try KeyFile.load("/nonexistent/key", permissions: .warn) }
    }
}
