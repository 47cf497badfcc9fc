import Foundation
import Hummingbird
import NIOCore

/// `/assets/…`: the stylesheet and script, from this module's resources,
/// read once at start. Nothing is fetched from anywhere else.
struct AssetRoutes: StationPages {
    let station: Station

    static let files: [String: (type: String, body: ByteBuffer)] = {
        var out: [String: (String, ByteBuffer)] = [:]
        guard let folder = Bundle.module.resourceURL?.appendingPathComponent("Assets") else { return [:] }
        for (name, type) in [("station.css", "text/css; charset=utf-8"), ("report.css", "text/css; charset=utf-8"), ("station.js", "text/javascript; charset=utf-8"), ("icon.svg", "image/svg+xml")] {
            if let data = try? Data(contentsOf: folder.appendingPathComponent(name)) { out[name] = (type, ByteBuffer(bytes: data)) }
        }
        return out
    }()

    func addRoutes(to router: Router<StationContext>) {
        router.get("/favicon.ico") { _, _ in
            guard let f = Self.files["icon.svg"] else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: f.type, .cacheControl: "max-age=3600"], body: .init(byteBuffer: f.body))
        }
        router.get("/assets/:name") { _, ctx in
            guard let name = ctx.parameters.get("name"), let f = Self.files[name] else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: f.type, .cacheControl: "max-age=3600"], body: .init(byteBuffer: f.body))
        }
    }
}
