import Foundation
import Messages
import Testing
@testable import Simulator
import Wire

/// §6–§10 on the device side: what each request does to the pump, the
/// events it logs, and infusion through simulated time.
@Suite("Simulated PH-1: the pump")
struct PumpTests {
    /// A session with morphine 10 mg/mL, 20 mL, and a running daily program of 1 mg/day.
    static func running() -> HostDriver {
        var h = HostDriver()
        h.hello()
        _ = h.refill()
        _ = h.program(HostDriver.daily([(0, 1_000_000)], bolus: 100_000))
        _ = h.request(.resume)
        return h
    }

    @Test("the ✱ requests log their event, with the request's session tag and seq, before the response")
    func originTags() {
        var h = HostDriver()
        h.hello()
        let (r, events) = h.request(.refill(Refill(drug: .baclofen, concentration: .init(UInt64(2_000_000)), reservoir: .init(UInt64(20_000_000)), lowAlarm: .init(UInt64(2_000_000)))))
        #expect(h.status(r) == .ok)
        #expect(events.map(\.event) == [.refilled])
        #expect(events.allSatisfy { $0.originSeq == 1 && $0.originSession == 0xA3A2_A1A0 })
        #expect(events[0].value1 == 20_000_000 && events[0].value2 == 2_000_000)

        let p = HostDriver.daily([(0, 100_000)])
        let (staged, noEvents) = h.request(.stageProgram(p))
        #expect(h.status(staged) == .ok && noEvents.isEmpty)  // staging changes nothing
        #expect(staged.payload == ResponsePayload.programCRC(p.crc).encode())
        let (commit, e2) = h.request(.commitProgram(programCRC: p.crc))
        #expect(h.status(commit) == .ok)
        #expect(e2.map(\.event) == [.programCommitted] && e2[0].value1 == p.crc && e2[0].originSeq == 3)
        #expect(h.request(.resume).events.map(\.event) == [.resumed])
        #expect(h.request(.setClock(UnixTime(seconds: 1_767_270_000))).events.map(\.event) == [.clockSet])
        #expect(h.request(.ackAlarm(bit: 3)).events.map(\.event) == [.alarmAcked])
        #expect(h.request(.suspend).events.map(\.event) == [.suspended])
    }

    @Test("SET_CLOCK beyond year 9999 is BAD_PARAM, not an overflow (issue 13)")
    func clockAtTheEnds() {
        var h = PumpTests.running()
        let before = h.getStatus().deviceTime
        for t in [Int64.max, Int64.max / 1000, 253_402_300_800] {
            let (r, events) = h.request(.setClock(UnixTime(seconds: t)))
            #expect(h.status(r) == .badParam, "SET_CLOCK \(t)")
            #expect(events.isEmpty)
        }
        #expect(h.getStatus().deviceTime.seconds - before.seconds < 5)
        #expect(h.status(h.request(.setClock(UnixTime(seconds: 253_402_300_799))).response) == .ok)
    }

    @Test("a refused ✱ request logs nothing and changes nothing")
    func refusedLogsNothing() {
        var h = HostDriver()
        h.hello()
        let head = h.head.implant.log.head
        #expect(h.status(h.request(.resume).response) == .noDrug)
        #expect(h.status(h.request(.cancelBolus).response) == .noBolus)
        #expect(h.status(h.request(.commitProgram(programCRC: 1)).response) == .noStagedProgram)
        #expect(h.head.implant.log.head == head)
    }

    @Test("commit: CRC_MISMATCH keeps the staged program; the read-back is the staged bytes")
    func stageAndCommit() throws {
        var h = HostDriver()
        h.hello()
        _ = h.refill()
        let p = HostDriver.daily([(0, 1_000_000), (420, 1_500_000), (1320, 800_000)])
        _ = h.request(.stageProgram(p))
        #expect(h.status(h.request(.commitProgram(programCRC: p.crc ^ 1)).response) == .crcMismatch)
        #expect(h.status(h.request(.commitProgram(programCRC: p.crc)).response) == .ok)
        let back = h.request(.getProgram).response
        #expect(back.payload == p.encode())
        #expect(h.status(h.request(.commitProgram(programCRC: p.crc)).response) == .noStagedProgram)
    }

    @Test("staging checks device limits at the loaded concentration")
    func stageLimits() {
        var h = HostDriver()
        h.hello()
        #expect(h.status(h.request(.stageProgram(HostDriver.daily([(0, 1_000)]))).response) == .noDrug)
        _ = h.refill()  // 10 mg/mL
        #expect(h.status(h.request(.stageProgram(HostDriver.daily([(0, 250_000_000)]))).response) == .limit)  // 25 mL/day
        #expect(h.status(h.request(.stageProgram(HostDriver.daily([(0, 100_000)]))).response) == .limit)  // 0.01 mL/day
        #expect(h.status(h.request(.stageProgram(HostDriver.daily([(0, 0), (60, 480_000)]))).response) == .ok)
    }

    @Test("infusion drains the reservoir by the active step, in integer nanolitres")
    func drain() {
        var h = Self.running()
        let before = h.getStatus()
        #expect(before.state == .running)
        #expect(before.currentRate == NanogramsPerDay(UInt64(1_000_000)))
        _ = h.wait(seconds: 86_400)
        let after = h.getStatus()
        // 1 mg/day at 10 mg/mL is 100,000 nL/day.
        #expect(before.reservoir.raw - after.reservoir.raw == 100_000)
    }

    @Test("a daily schedule switches steps at local time")
    func schedule() {
        var h = HostDriver()
        h.hello()
        _ = h.refill()
        // 00:00 0.5 mg/day, 12:00 2 mg/day; the clock starts at 12:00 UTC.
        _ = h.program(HostDriver.daily([(0, 500_000), (720, 2_000_000)]))
        _ = h.request(.resume)
        #expect(h.getStatus().currentRate.raw == 2_000_000)
        _ = h.wait(seconds: 12 * 3600)
        #expect(h.getStatus().currentRate.raw == 500_000)
    }

    @Test("a bolus is delivered over its duration and completes; retransmitting its start gives it once")
    func bolus() {
        var h = Self.running()
        let start = Request.startBolus(BolusRequest(dose: .init(UInt64(500_000)), duration: .init(UInt64(30)))).frame(seq: h.seq + 1).sealed(with: h.key)
        h.seq += 1
        let first = h.send(start)
        _ = h.send(start)
        #expect(first.last.map { h.status($0) } == .ok)
        #expect(h.getStatus().state == .bolusRunning)
        #expect(h.status(h.request(.startBolus(BolusRequest(dose: .init(UInt64(1)), duration: .init(UInt64(30))))).response) == .bolusActive)
        _ = h.wait(seconds: 15 * 60)
        let half = h.getStatus().bolusRemaining.raw
        #expect(half == 250_000)
        let events = h.wait(seconds: 15 * 60)
        #expect(events.map(\.event).contains(.bolusCompleted))
        #expect(h.head.implant.log.all.filter { $0.event == .bolusStarted }.count == 1)
        #expect(h.getStatus().state == .running)
    }

    @Test("cancelling a bolus reports what it delivered; suspending cancels it too")
    func cancel() {
        var h = Self.running()
        _ = h.request(.startBolus(BolusRequest(dose: .init(UInt64(600_000)), duration: .init(UInt64(60)))))
        _ = h.wait(seconds: 600)
        let (r, events) = h.request(.cancelBolus)
        #expect(r.payload == ResponsePayload.delivered(.init(UInt64(100_000))).encode())
        #expect(events.map(\.event) == [.bolusCancelled])
        _ = h.request(.startBolus(BolusRequest(dose: .init(UInt64(600_000)), duration: .init(UInt64(60)))))
        #expect(h.request(.suspend).events.map(\.event) == [.bolusCancelled, .suspended])
        #expect(h.getStatus().currentRate == .zero)
    }

    @Test("refill: same drug and concentration keeps the program, another clears it; always suspends")
    func refill() {
        var h = Self.running()
        let r1 = h.request(.refill(Refill(drug: .morphine, concentration: .init(UInt64(10_000_000)), reservoir: .init(UInt64(40_000_000)), lowAlarm: .init(UInt64(4_000_000)))))
        #expect(r1.events.map(\.event) == [.suspended, .refilled])
        #expect(h.getStatus().state == .suspended)
        #expect(h.status(h.request(.getProgram).response) == .ok)
        #expect(h.status(h.request(.resume).response) == .ok)
        _ = h.request(.refill(Refill(drug: .morphine, concentration: .init(UInt64(20_000_000)), reservoir: .init(UInt64(40_000_000)), lowAlarm: .init(UInt64(4_000_000)))))
        #expect(h.status(h.request(.getProgram).response) == .noProgram)
        #expect(h.status(h.request(.resume).response) == .noProgram)
        #expect(h.status(h.request(.refill(Refill(drug: .morphine, concentration: .init(UInt64(20_000_000)), reservoir: .init(UInt64(40_000_001)), lowAlarm: .zero))).response) == .limit)
    }

    @Test("time warp: low-reservoir alarm, then empty: the pump stops and RESUME answers PUMP_FAULT")
    func reservoirAlarms() {
        var h = HostDriver()
        h.hello()
        _ = h.refill(ml: 3, lowMl: 2)  // 3 mL, alarm at 2 mL
        _ = h.program(HostDriver.daily([(0, 10_000_000)]))  // 1 mL/day
        _ = h.request(.resume)
        let day1 = h.wait(seconds: 86_400 + 60)
        #expect(day1.map(\.event) == [.alarmRaised])
        #expect(day1.first?.value1 == UInt32(AlarmBit.lowReservoir.rawValue))
        let day3 = h.wait(seconds: 2 * 86_400)
        #expect(day3.contains { $0.event == .alarmRaised && $0.value1 == 1 })
        let s = h.getStatus()
        #expect(s.state == .reservoirEmpty && s.reservoir == .zero && s.currentRate == .zero)
        #expect(h.status(h.request(.suspend).response) == .ok)
        #expect(h.status(h.request(.resume).response) == .pumpFault)
        #expect(h.status(h.request(.startBolus(BolusRequest(dose: .init(UInt64(1000)), duration: .init(UInt64(1))))).response) == .pumpFault)
    }

    @Test("the battery: ERI when months reach 0, end of service 90 days later")
    func battery() {
        var h = HostDriver()
        h.head.implant.electiveReplacementMs = h.now + 86_400_000
        _ = h.wait(seconds: 86_400)
        #expect(h.head.implant.alarms.contains(.electiveReplacement))
        #expect(!h.head.implant.alarms.contains(.endOfService))
        _ = h.wait(seconds: 90 * 86_400)
        #expect(h.head.implant.alarms.contains(.endOfService))
        #expect(h.head.implant.state == .endOfService)
    }

    @Test("telemetry loss: TELEMETRY_LOST is logged but not sent; events while out of range are read back")
    func telemetry() {
        var h = Self.running()
        let lost = h.head.setTelemetry(false, nowMs: h.now)
        #expect(lost.isEmpty)
        #expect(h.head.implant.log.all.last?.event == .telemetryLost)
        h.head.implant.raise(.motorStall)
        _ = h.wait(seconds: 1)
        let restored = h.head.setTelemetry(true, nowMs: h.now).flatMap { h.toHost.feed($0) }
        #expect(restored.count == 1)  // TELEMETRY_RESTORED, sent
        let head = h.head.implant.log.head
        let (r, _) = h.request(.readEvents(EventQuery(fromIndex: head - 5, maxCount: 32)))
        guard case .events(let events) = try? ResponsePayload.decode(opcode: .readEvents, status: .ok, payload: r.payload) else {
            Issue.record("no events")
            return
        }
        #expect(events.map(\.event).suffix(3) == [.telemetryLost, .alarmRaised, .telemetryRestored])
    }

    @Test("READ_EVENTS: capped by max_count and the host's max_payload; old indexes start at the oldest")
    func readEvents() {
        var h = HostDriver()
        h.hello(maxPayload: 512)
        for _ in 0..<5000 { h.head.implant.logEvent(.alarmAcked, origin: .device) }
        _ = h.head.advance(to: h.now)
        let log = h.head.implant.log
        #expect(log.count == 4096 && log.oldest == log.head - 4096)
        let (r, _) = h.request(.readEvents(EventQuery(fromIndex: 0, maxCount: 32)))
        guard case .events(let events) = try? ResponsePayload.decode(opcode: .readEvents, status: .ok, payload: r.payload) else { return }
        #expect(events.count == 18)  // (512 − 1) ÷ 28
        #expect(events.first?.index == log.oldest)
        let (past, _) = h.request(.readEvents(EventQuery(fromIndex: log.head, maxCount: 32)))
        #expect(past.payload == [0])
    }

    @Test("a patient bolus respects the program's lockout and daily maximum")
    func patientBolus() {
        var h = Self.running()
        #expect(h.head.implant.patientBolus() == nil)
        #expect(h.head.implant.patientBolus() == "locked out")
        for _ in 0..<3 {
            _ = h.wait(seconds: 3600)
            #expect(h.head.implant.patientBolus() == nil)
        }
        _ = h.wait(seconds: 3600)
        #expect(h.head.implant.patientBolus() == "daily maximum reached")
        #expect(h.head.implant.log.all.filter { $0.event == .patientBolus }.count == 4)
    }

    @Test("a motor stall stops the pump and cancels a bolus")
    func stall() {
        var h = Self.running()
        _ = h.request(.startBolus(BolusRequest(dose: .init(UInt64(500_000)), duration: .init(UInt64(30)))))
        h.head.implant.raise(.motorStall)
        #expect(h.head.implant.bolus == nil)
        #expect(h.getStatus().state == .motorStalled)
        #expect(h.head.implant.log.all.suffix(2).map(\.event) == [.alarmRaised, .bolusCancelled])
    }
}

@Suite("Simulated implant: log and persistence")
struct LogAndSnapshotTests {
    @Test("the log keeps the newest 4,096 events whatever index it starts at")
    func ring() {
        var log = EventLog(head: 5000)
        for _ in 0..<5000 { log.append(time: UnixTime(seconds: 0), code: .alarmAcked, origin: .device) }
        #expect(log.count == 4096 && log.head == 10_000 && log.oldest == 10_000 - 4096)
        #expect(log.all.map(\.index) == Array(log.oldest..<log.head))
        #expect(log.read(from: 0, limit: 3).map(\.index) == [log.oldest, log.oldest + 1, log.oldest + 2])
    }

    @Test("a snapshot restores the implant exactly, log included")
    func snapshot() throws {
        var h = PumpTests.running()
        _ = h.request(.startBolus(BolusRequest(dose: .init(UInt64(500_000)), duration: .init(UInt64(30)))))
        for _ in 0..<4200 { h.head.implant.logEvent(.alarmAcked, origin: .device) }
        _ = h.wait(seconds: 600)
        let original = h.head.implant
        let data = try JSONEncoder().encode(ImplantSnapshot(original))
        let restored = try JSONDecoder().decode(ImplantSnapshot.self, from: data).implant()
        #expect(ImplantSnapshot(restored) == ImplantSnapshot(original))
        #expect(restored.status == original.status)
        #expect(restored.log.all == original.log.all)
    }

    @Test("a state file the pump could not be in is refused by name, never trapped on (issue 13)")
    func hostileSnapshot() throws {
        var h = PumpTests.running()
        _ = h.request(.startBolus(BolusRequest(dose: .init(UInt64(500_000)), duration: .init(UInt64(30)))))
        _ = h.wait(seconds: 60)
        let good = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ImplantSnapshot(h.head.implant))) as? [String: Any] ?? [:]
        func restore(_ edit: (inout [String: Any]) -> Void) throws -> Implant {
            var o = good
            edit(&o)
            let data = try JSONSerialization.data(withJSONObject: o)
            return try JSONDecoder().decode(ImplantSnapshot.self, from: data).implant()
        }
        #expect(throws: Never.self) { try restore { _ in } }
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("model", { $0["model"] = 30 }),
            ("serial", { $0["serial"] = "IP40-\u{301}\u{301}" }),
            ("nowMs", { $0["nowMs"] = Int64.max }),
            ("clockOffsetMs", { $0["clockOffsetMs"] = Int64.min }),
            ("electiveReplacementMs", { $0["electiveReplacementMs"] = Int64.max - 1 }),
            ("lastRefill", { $0["lastRefill"] = Int64.max }),
            ("reservoir", { $0["reservoir"] = UInt64.max }),
            ("concentration", { $0["concentration"] = UInt64(1) << 40 }),
            ("basalRemainder", { $0["basalRemainder"] = UInt64.max }),
            ("eventHead", { $0["eventHead"] = 0 }),
            ("events", { o in
                var events = o["events"] as? [[String: Any]] ?? []
                if events.count > 1 { events[1]["index"] = 999_999 }
                o["events"] = events
            }),
            ("bolus.duration", { o in
                var b = o["bolus"] as? [String: Any] ?? [:]
                b["duration"] = 0
                o["bolus"] = b
            }),
            ("bolus.startMs", { o in
                var b = o["bolus"] as? [String: Any] ?? [:]
                b["startMs"] = Int64.min
                o["bolus"] = b
            }),
        ]
        for (field, edit) in edits {
            do {
                _ = try restore(edit)
                Issue.record("a state file with a bad \(field) was restored")
            } catch let p as ImplantSnapshot.Problem {
                #expect(p.field.hasPrefix(field), "\(field): \(p)")
            } catch {
                Issue.record("\(field): \(error)")
            }
        }
    }
}
