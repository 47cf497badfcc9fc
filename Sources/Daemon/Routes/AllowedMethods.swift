import Synchronization

/// The methods each path takes, read from the router once its routes are in
/// (the router alone answers 404 for a known path with the wrong method), so
/// that a 405 says what the path takes. Set once, before the server starts.
final class AllowedMethods: Sendable {
    private let table = Mutex<[(pattern: [Substring], methods: [String])]>([])

    /// `routes`: each route's path as the router writes it ("/v1/alarms/{bit}/ack") and its method.
    func set(_ routes: [(path: String, method: String)]) {
        var out: [(pattern: [Substring], methods: [String])] = []
        for r in routes {
            let pattern = r.path.split(separator: "/").map { $0.hasPrefix("{") ? "*" : $0 }
            if let k = out.firstIndex(where: { $0.pattern == pattern }) {
                if !out[k].methods.contains(r.method) { out[k].methods.append(r.method) }
            } else {
                out.append((pattern, [r.method]))
            }
        }
        table.withLock { $0 = out }
    }

    /// The methods `path` takes, in the router's (alphabetical) order; nil for no such path.
    func methods(_ path: String) -> [String]? {
        let parts = path.split(separator: "/")
        return table.withLock { t in
            t.first { p in p.pattern.count == parts.count && zip(p.pattern, parts).allSatisfy { $0 == "*" || $0 == $1 } }?.methods
        }
    }
}
