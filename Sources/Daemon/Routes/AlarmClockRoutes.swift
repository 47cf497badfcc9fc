import API
import DoseSafety
import Foundation
import Hummingbird
import JSON
import PumpCore

/// `/v1/alarms/{bit}/ack` and `/v1/clock/sync`: acknowledging an alarm, setting the pump's clock.
struct AlarmClockRoutes: RouteCollection {
    let api: APIRoutes

    func addRoutes(to router: Router<PumpContext>) {
        router.post("/v1/clock/sync") { req, ctx in try await api.simple(req, ctx, .clockSync) }
        router.post("/v1/alarms/{bit}/ack") { req, ctx in
            try await api.write(req, ctx, kind: "alarm_ack", bodyRequired: false) { body in
                let raw = ctx.parameters.get("bit") ?? ""
                let bit = try RequestBodies.alarm(raw.removingPercentEncoding ?? raw)
                try RequestBodies.empty(body)
                return CommandOrder(plan: .ackAlarm(bit), request: JSONValue.object(["alarm": .string(bit.name)]).serialized)
            }
        }
    }
}
