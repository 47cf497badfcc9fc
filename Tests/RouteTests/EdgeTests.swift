import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Daemon

/// Route behaviour in process (HummingbirdTesting's router framework: no
/// socket, no pty). What needs the device is covered end to end in DaemonTests.
@Suite("the HTTP edge in process")
struct EdgeTests {
    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test("a known path with a method it does not take: 405, with the methods the router has for it in Allow")
    func methodNotAllowed() async throws {
        let rig = try RouteRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            try await client.execute(uri: "/v1/program", method: .patch) { r in
                #expect(r.status == .methodNotAllowed)
                #expect(r.headers[.allow] == "GET, PUT")
                let error = try #require(try Self.json(r.body)["error"] as? [String: Any])
                #expect(error["code"] as? String == "method_not_allowed")
            }
            try await client.execute(uri: "/v1/alarms/RESERVOIR_LOW/ack", method: .get) { r in
                #expect(r.status == .methodNotAllowed)
                #expect(r.headers[.allow] == "POST")
            }
            try await client.execute(uri: "/v1/capture", method: .put) { r in
                #expect(r.headers[.allow] == "DELETE, GET, POST")
            }
            try await client.execute(uri: "/v1/no-such-thing", method: .get) { r in
                #expect(r.status == .notFound)
                #expect(r.headers[.allow] == nil)
            }
        }
    }

    @Test("reads that need no device answer from the store and the library; the rest say the link is down")
    func reads() async throws {
        let rig = try RouteRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            try await client.execute(uri: "/v1/drugs", method: .get) { r in
                #expect(r.status == .ok)
                let drugs = try #require(try Self.json(r.body)["drugs"] as? [String: Any])
                #expect(drugs["morphine"] != nil && drugs["ziconotide"] != nil)
            }
            try await client.execute(uri: "/v1/health", method: .get) { r in
                #expect(r.status == .ok)
                let o = try Self.json(r.body)
                #expect(o["status"] as? String == "degraded" && o["link"] as? String == "down")
            }
            try await client.execute(uri: "/v1/audit", method: .get) { r in
                #expect(r.status == .ok)
                let commands = try Self.json(r.body)["commands"] as? [Any]
                #expect(commands?.isEmpty == true)
            }
            try await client.execute(uri: "/v1/commands/c1", method: .get) { r in
                #expect(r.status == .notFound)
            }
            try await client.execute(uri: "/v1/status", method: .get) { r in
                #expect(r.status == .serviceUnavailable)
                let error = try #require(try Self.json(r.body)["error"] as? [String: Any])
                #expect(error["code"] as? String == "device_unavailable")
            }
            try await client.execute(uri: "/v1/events?limit=0", method: .get) { r in
                #expect(r.status == .badRequest)
            }
        }
    }

    @Test("a write whose peer cannot be identified is refused (403) and nothing is recorded as sent")
    func writeWithoutCredentials() async throws {
        let rig = try RouteRig()
        defer { rig.remove() }
        try await rig.application().test(.router) { client in
            try await client.execute(uri: "/v1/suspend", method: .post) { r in
                #expect(r.status == .forbidden)
                let error = try #require(try Self.json(r.body)["error"] as? [String: Any])
                #expect(error["code"] as? String == "forbidden")
            }
        }
        #expect(try rig.routes.pump.store.commands(limit: 10, after: nil).isEmpty)
    }
}
