import API
import Testing

/// The period a person types, read exactly: dates are whole days in pumpd's
/// zone, times are RFC 3339 with their offset; anything else is refused,
/// naming the parameter.
struct ExportPeriodTests {
    static let utc: ExportPeriod.Zone = { _ in 0 }
    static let berlinWinter: ExportPeriod.Zone = { _ in 3600 }
    /// UTC+01:00 before 2026-03-29T01:00:00Z, UTC+02:00 from then (Europe's spring change).
    static let berlin: ExportPeriod.Zone = { $0 < 1_774_746_000 ? 3600 : 7200 }

    static let readable: [(String, String, ExportPeriod.Zone, Int64, Int64)] = [
        // All of March 2026, in UTC: 2026-03-01T00:00Z … 2026-04-01T00:00Z.
        ("2026-03-01", "2026-03-31", utc, 1_772_323_200_000, 1_775_001_600_000),
        // One day, in UTC+01:00: it starts an hour earlier in UTC.
        ("2026-01-10", "2026-01-10", berlinWinter, 1_767_999_600_000, 1_768_086_000_000),
        // The spring change: 29 March has 23 hours in Berlin.
        ("2026-03-29", "2026-03-29", berlin, 1_774_738_800_000, 1_774_821_600_000),
        ("2026-03-01T08:00:00Z", "2026-03-01T09:30:00Z", utc, 1_772_352_000_000, 1_772_357_400_000),
        ("2026-03-01T09:00:00+01:00", "2026-03-01T09:00:00-00:30", berlin, 1_772_352_000_000, 1_772_357_400_000),
        // Fractions to the millisecond, finer digits dropped.
        ("2026-03-01T08:00:00.5Z", "2026-03-01T08:00:01.123456789+00:00", utc, 1_772_352_000_500, 1_772_352_001_123),
    ]

    @Test func datesAndTimesAreReadExactly() throws {
        for (from, to, zone, fromMs, toMs) in Self.readable {
            let p = try ExportPeriod.parse(from: from, to: to, zone: zone)
            #expect(p.fromMs == fromMs && p.toMs == toMs, "\(from) \(to): \(p.fromMs) \(p.toMs)")
        }
    }

    /// An offset no zone has is taken as UTC, never trusted or trapped on.
    @Test func aZoneOutOfRangeIsTakenAsUTC() throws {
        for offset in [Int.min, -26 * 3600 - 1, 26 * 3600 + 1, Int.max] {
            let p = try ExportPeriod.parse(from: "2026-03-01", to: "2026-03-31", zone: { _ in offset })
            #expect(p == ExportPeriod(fromMs: 1_772_323_200_000, toMs: 1_775_001_600_000), "\(offset)")
        }
    }

    static let refused: [(String?, String?, String)] = [
        (nil, "2026-03-31", "from"),
        ("2026-03-01", nil, "to"),
        ("2026-02-29", "2026-03-31", "from"),  // 2026 is not a leap year
        ("2026-13-01", "2026-03-31", "from"),
        ("yesterday", "2026-03-31", "from"),
        ("2026-3-1", "2026-03-31", "from"),
        ("2026-03-01", "2026-03-01T25:00:00Z", "to"),
        ("2026-03-01", "2026-03-02T08:00:00", "to"),  // a time needs its offset
        ("2026-03-01", "2026-03-02 08:00:00Z", "to"),
        ("2026-03-01", "2026-03-02T08:00:00.Z", "to"),
        ("2026-03-01", "2026-03-02T08:00:00+1:00", "to"),
        ("2026-03-01", "２０２６-03-02", "to"),  // other scripts' digits are not digits here
        ("2026-03-02", "2026-03-01", "to"),  // ends before it starts
        ("2026-03-01T09:00:00Z", "2026-03-01T09:00:00Z", "to"),  // empty
        ("0000-01-01", "2026-03-01", "from"),
    ]

    @Test func anythingElseIsRefusedNamingTheParameter() {
        for (from, to, field) in Self.refused {
            do throws(ExportPeriod.Problem) {
                let p = try ExportPeriod.parse(from: from, to: to, zone: Self.utc)
                Issue.record("\(from ?? "nil") \(to ?? "nil") read as \(p)")
            } catch {
                #expect(error.field == field, "\(from ?? "nil") \(to ?? "nil"): \(error.message)")
                #expect(error.message.contains("2026-03-01T08:00:00Z") || error.message.contains("after"), "\(error.message)")
            }
        }
    }
}
