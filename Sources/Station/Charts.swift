import DoseSafety
import Messages

/// Pictures drawn here, as SVG text: nothing is fetched or scripted. Every
/// axis names its unit; every point plotted is a value the core computed.
enum Charts {
    static let width = 640, height = 220, left = 70, right = 20, top = 16, bottom = 40

    /// The rate over one period of the program (a day or a week), as steps.
    /// `peak` sets the top of the axis (ng/day): two programs shown side by side share one.
    static func rate(_ p: ProgramRecord, unit: String, id: String = "rate-chart", peak: UInt64? = nil) -> String {
        let period = Schedule.period(p)
        let segments = Schedule.segments(p)
        let scale = niceCeiling(max(1, peak ?? segments.map(\.rate.raw).max() ?? 1))
        let plotW = Double(width - left - right), plotH = Double(height - top - bottom)
        func x(_ minute: Int) -> Double { Double(left) + plotW * Double(minute) / Double(period) }
        func y(_ rate: UInt64) -> Double { Double(top) + plotH * (1 - Double(rate) / Double(scale)) }
        var path = ""
        for s in segments {
            let y0 = y(s.rate.raw)
            path += path.isEmpty ? "M\(f(x(s.start))),\(f(y0))" : " L\(f(x(s.start))),\(f(y0))"
            path += " L\(f(x(s.end))),\(f(y0))"
        }
        var svg = open(id: id, label: "Rate over one \(period == 1440 ? "day" : "week") of the program, in \(unit)/day")
        svg += grid(yLabels: [(0, "0"), (scale / 2, Display.rate(scale / 2, unit: unit)), (scale, Display.rate(scale, unit: unit))].map { (y($0.0), $0.1) })
        let ticks: [(Int, String)] = period == 1440
            ? stride(from: 0, through: 1440, by: 360).map { ($0, String(format: "%02d:00", $0 / 60 % 24 == 0 && $0 == 1440 ? 24 : $0 / 60)) }
            : (0...7).map { ($0 * 1440, $0 < 7 ? Display.weekdays[$0] : "") }
        for (m, label) in ticks {
            svg += "<line class=\"tick\" x1=\"\(f(x(m)))\" y1=\"\(height - bottom)\" x2=\"\(f(x(m)))\" y2=\"\(height - bottom + 5)\"/>"
            svg += "<text class=\"axis\" x=\"\(f(x(m)))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(label)</text>"
        }
        svg += "<text class=\"axis-title\" x=\"\(left + Int(plotW) / 2)\" y=\"\(height - 4)\" text-anchor=\"middle\">time of \(period == 1440 ? "day (local)" : "week (local)")</text>"
        svg += "<path class=\"rate\" d=\"\(path)\"/>"
        return svg + "</svg>"
    }

    /// One line of the reservoir over time: through the points the
    /// projection computed (now, the low-alarm time, the empty time).
    struct ReservoirLine {
        var name: String
        var cssClass: String
        var start: Nanolitres
        var lowAlarm: Nanolitres
        var projection: Projection
    }

    /// The reservoir from now until the later line runs empty (or 120 days),
    /// with the low-reservoir alarm level as a dashed line.
    static func reservoir(_ lines: [ReservoirLine], now: Int64, capacity: Nanolitres, id: String = "reservoir-chart") -> String {
        let ends = lines.compactMap { $0.projection.emptyAt }
        let span = max(86400, min(120 * 86400, (ends.max() ?? now + 90 * 86400) - now))
        let top = max(capacity.raw, lines.map(\.start.raw).max() ?? 1, 1)
        let plotW = Double(width - left - right), plotH = Double(height - top_ - bottom)
        func x(_ t: Int64) -> Double { Double(left) + plotW * Double(min(max(t - now, 0), span)) / Double(span) }
        func y(_ v: UInt64) -> Double { Double(top_) + plotH * (1 - Double(min(v, top)) / Double(top)) }
        var svg = open(id: id, label: "Reservoir volume in mL from now, with the low-reservoir alarm level")
        svg += grid(yLabels: [(0, "0 mL"), (top / 2, Display.volume(Nanolitres(top / 2))), (top, Display.volume(Nanolitres(top)))].map { (y($0.0), $0.1) })
        let days = span / 86400
        let step = max(1, days / 6)
        for d in stride(from: Int64(0), through: days, by: Int(step)) {
            let t = now + d * 86400
            svg += "<line class=\"tick\" x1=\"\(f(x(t)))\" y1=\"\(height - bottom)\" x2=\"\(f(x(t)))\" y2=\"\(height - bottom + 5)\"/>"
            svg += "<text class=\"axis\" x=\"\(f(x(t)))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">+\(d) d</text>"
        }
        svg += "<text class=\"axis-title\" x=\"\(left + Int(plotW) / 2)\" y=\"\(height - 4)\" text-anchor=\"middle\">days from now</text>"
        if let low = lines.first?.lowAlarm {
            svg += "<line class=\"low-alarm\" x1=\"\(left)\" y1=\"\(f(y(low.raw)))\" x2=\"\(width - right)\" y2=\"\(f(y(low.raw)))\"/>"
            svg += "<text class=\"axis low-alarm-label\" x=\"\(left + 6)\" y=\"\(f(y(low.raw) - 4))\">low-reservoir alarm \(Display.volume(low))</text>"
        }
        for (i, line) in lines.enumerated() {
            var points = [(x(now), y(line.start.raw))]
            if let l = line.projection.lowAt { points.append((x(l), y(line.lowAlarm.raw))) }
            if let e = line.projection.emptyAt {
                points.append((x(e), y(0)))
            } else {
                points.append((x(now + span), y(line.start.raw)))  // nothing flows: level
            }
            let d = points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f($0.element.0)),\(f($0.element.1))" }.joined(separator: " ")
            svg += "<path class=\"\(line.cssClass)\" d=\"\(d)\"/>"
            svg += "<text class=\"legend \(line.cssClass)-label\" x=\"\(width - right - 8)\" y=\"\(top_ + 14 + 16 * i)\" text-anchor=\"end\">\(line.name)\(line.cssClass == "current" ? " (dashed)" : "")</text>"
        }
        return svg + "</svg>"
    }

    static let top_ = top

    static func open(id: String, label: String) -> String {
        "<svg id=\"\(id)\" class=\"chart\" role=\"img\" aria-label=\"\(label)\" viewBox=\"0 0 \(width) \(height)\" xmlns=\"http://www.w3.org/2000/svg\"><title>\(label)</title>"
            + "<rect class=\"plot\" x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" height=\"\(height - top - bottom)\"/>"
    }

    static func grid(yLabels: [(Double, String)]) -> String {
        yLabels.map { (y, label) in
            "<line class=\"grid\" x1=\"\(left)\" y1=\"\(f(y))\" x2=\"\(width - right)\" y2=\"\(f(y))\"/>"
                + "<text class=\"axis\" x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(label)</text>"
        }.joined()
    }

    /// The smallest 1, 2 or 5 × 10^n at or above v.
    static func niceCeiling(_ v: UInt64) -> UInt64 {
        var p: UInt64 = 1
        while p <= UInt64.max / 10, p * 10 <= v { p *= 10 }
        for m: UInt64 in [1, 2, 5, 10] where p.multipliedReportingOverflow(by: m).overflow == false && p * m >= v { return p * m }
        return v
    }

    static func f(_ d: Double) -> String { d.isFinite ? String(format: "%.1f", d) : "0" }
}
