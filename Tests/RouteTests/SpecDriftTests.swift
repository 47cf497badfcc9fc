import Foundation
import Hummingbird
import Testing
import Yams

@testable import API
@testable import Daemon

/// The router and the error codes against spec/openapi.yaml, at build time:
/// a route or a code added on one side only fails here, not in a running daemon.
@Suite("the router and the spec agree")
struct SpecDriftTests {
    static let specPath = #filePath.replacingOccurrences(of: "Tests/RouteTests/SpecDriftTests.swift", with: "spec/openapi.yaml")

    static func spec() throws -> [String: Any] {
        let text = try String(contentsOfFile: specPath, encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    @Test("every route the router serves is in the spec, with its method, and the other way round")
    func routes() throws {
        let paths = try #require(try Self.spec()["paths"] as? [String: Any])
        let methods = Set(["get", "put", "post", "delete", "patch"])
        var inSpec = Set<String>()
        for (path, item) in paths {
            let operations = try #require(item as? [String: Any], "\(path)")
            for m in operations.keys where methods.contains(m) { inSpec.insert("\(m.uppercased()) \(path)") }
        }
        let rig = try RouteRig()
        defer { rig.remove() }
        let served = Set(rig.routes.router().routes.map { "\($0.method) \($0.path)" })
        #expect(served.subtracting(inSpec).sorted() == [], "served but not in spec/openapi.yaml")
        #expect(inSpec.subtracting(served).sorted() == [], "in spec/openapi.yaml but not served")
        #expect(served.count >= 25)
    }

    @Test("APIError.Code and the spec's ErrorCode list the same codes")
    func errorCodes() throws {
        let components = try #require(try Self.spec()["components"] as? [String: Any])
        let schemas = try #require(components["schemas"] as? [String: Any])
        let errorCode = try #require(schemas["ErrorCode"] as? [String: Any])
        let listed = Set(try #require(errorCode["enum"] as? [String]))
        let coded = Set(APIError.Code.allCases.map(\.rawValue))
        #expect(coded.subtracting(listed).sorted() == [], "in APIError.Code but not in the spec")
        #expect(listed.subtracting(coded).sorted() == [], "in the spec but not in APIError.Code")
    }
}
