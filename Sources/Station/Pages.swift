import Foundation
import Hummingbird
import HTTPTypes
import Mustache
import PumpCore

/// The templates (Sources/Station/Templates, resources of this module) and
/// what every page shares: the header with who is signed in and the
/// navigation, the SIMULATOR banner, the CSRF token for its forms.
struct Pages: Sendable {
    let library: MustacheLibrary
    let simulator: Bool

    init(simulator: Bool) throws {
        self.simulator = simulator
        library = try Self.templates()
    }

    /// Every template of the module's resources, by its file's name.
    static func templates() throws -> MustacheLibrary {
        guard let folder = Bundle.module.resourceURL?.appendingPathComponent("Templates") else {
            throw StationProblem("the station's templates are missing from pumpd's resources")
        }
        var library = MustacheLibrary()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".mustache") }
        for file in names {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            try library.register(text, named: String(file.dropLast(".mustache".count)))
        }
        return library
    }

    /// The page `template` with `values` and the shared parts.
    func render(_ template: String, _ values: [String: Any], context: StationContext, status: HTTPResponse.Status = .ok, title: String) -> Response {
        var all = values
        all["title"] = title
        all["simulator"] = simulator
        // The banner says SIMULATOR in bold itself; the notice follows it.
        let notice = PumpService.simulatorNotice
        all["simulator_notice"] = notice.hasPrefix("SIMULATOR: ") ? String(notice.dropFirst("SIMULATOR: ".count)) : notice
        if let s = context.session {
            all["signed_in"] = true
            all["who"] = "\(s.account) (\(s.role.rawValue))"
            all["csrf"] = s.csrf
            all["may_write"] = s.role.may("program")
            all["may_ack"] = s.role.may("alarm_ack")
            all["may_patients"] = s.role.may("patient_read")
        }
        if let visit = context.visit {
            all["visit"] = visit.values
            // Leaving the page is worth a warning (station.js); the page's
            // own refresh is then the script's, which knows it is no exit.
            all["visit_unsafe"] = visit.unsafe
        }
        let html = library.render(all, withTemplate: template) ?? "<!doctype html><title>pumpd</title><p>The page \(template) is missing.</p>"
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A refusal page: what was refused, why, and what to do. Nothing changed.
    func refusal(status: HTTPResponse.Status, title: String, message: String, context: StationContext) -> Response {
        render("refused", ["heading": title, "message": message], context: context, status: status, title: title)
    }
}

struct StationProblem: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
