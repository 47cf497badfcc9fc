import Audit
import Foundation
import Hummingbird
import Messages
import NIOCore
import PumpCore
import ServiceLifecycle

/// `/events`: the pump's event log as mirrored, newest first, with filters
/// by kind and day; `/live`: new events as Server-Sent Events, for the
/// pages that follow the pump as it changes.
struct EventPages: StationPages {
    let station: Station
    static let pageSize = 50

    func addRoutes(to router: Router<StationContext>) {
        router.get("/events") { req, ctx in try page(req, ctx) }
        router.get("/live") { _, ctx in live(ctx) }
    }

    func page(_ req: Request, _ ctx: StationContext) throws -> Response {
        let q = req.uri.queryParameters
        let kind = q.get("kind").flatMap { $0.isEmpty ? nil : $0 }
        let before = q.get("before").flatMap { Int64($0) }
        let from = q.get("from").flatMap { Self.day($0) }
        let to = q.get("to").flatMap { Self.day($0) }.map { $0 + 86400 }
        let rows = try pump.store.events(before: before, limit: Self.pageSize + 1, name: kind, from: from, to: to)
        let shown = rows.prefix(Self.pageSize)
        var filter = ""
        if let kind { filter += "&kind=\(kind)" }
        if let f = q.get("from"), !f.isEmpty { filter += "&from=\(f)" }
        if let t = q.get("to"), !t.isEmpty { filter += "&to=\(t)" }
        let v: [String: Any] = [
            "rows": shown.map(Self.row),
            "kinds": EventCode.allCases.map { ["name": $0.name, "selected": $0.name == kind] },
            "from": q.get("from") ?? "", "to": q.get("to") ?? "",
            "next": rows.count > Self.pageSize ? "/events?before=\(shown.last?.index ?? 0)\(filter)" : "",
            "first_page": before == nil ? "" : "/events?\(filter.dropFirst())",
            "empty": shown.isEmpty,
        ]
        return pages.render("events", v, context: ctx, title: "Events")
    }

    static func row(_ r: EventRow) -> [String: Any] {
        let e = PumpService.record(r)
        return [
            "index": r.index, "time": Display.time(r.time), "name": (r.name ?? "code \(r.code)").replacingOccurrences(of: "_", with: " "),
            "detail": detail(e), "by_host": !e.isDeviceOwn,
        ]
    }

    /// The values an event carries, with their units (ICD §8).
    static func detail(_ e: EventRecord) -> String {
        switch e.event {
        case .programCommitted: "program CRC \(String(e.value1, radix: 16))"
        case .bolusStarted: "\(DecimalText.render(UInt64(e.value1), places: 6)) mg, bolus \(e.value2)"
        case .bolusCompleted, .bolusCancelled: "\(DecimalText.render(UInt64(e.value1), places: 6)) mg delivered"
        default: e.value1 == 0 && e.value2 == 0 ? "" : "values \(e.value1), \(e.value2)"
        }
    }

    /// "2026-12-06" → that day's start, in the station's time zone.
    static func day(_ text: String) -> Int64? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone.current
        f.dateFormat = "yyyy-MM-dd"
        return f.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }

    /// New mirrored events, one SSE `event: pump` each; a comment every 15 s
    /// keeps proxies and the browser from closing a quiet stream.
    func live(_ ctx: StationContext) -> Response {
        let pump = self.pump
        let body = ResponseBody { writer in
            var cursor = ((try? pump.store.nextEventIndex()) ?? nil) ?? 0
            try await withGracefulShutdownHandler {
                while !Task.isShuttingDownGracefully {
                    let version = pump.eventsChanged.version
                    let rows = try pump.store.events(since: cursor, limit: 100)
                    if let last = rows.last {
                        var b = ByteBuffer()
                        for r in rows {
                            let e = PumpService.record(r)
                            b.writeString("event: pump\ndata: \(Display.time(r.time)) \(e.event?.name ?? "code \(r.code)") \(Self.detail(e))\n\n")
                        }
                        try await writer.write(b)
                        cursor = last.index + 1
                        continue
                    }
                    await pump.eventsChanged.wait(after: version, timeout: .seconds(15))
                    if pump.eventsChanged.version == version { try await writer.write(ByteBuffer(string: ": still here\n\n")) }
                }
            } onGracefulShutdown: {
                pump.eventsChanged.bump()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: body)
    }
}
