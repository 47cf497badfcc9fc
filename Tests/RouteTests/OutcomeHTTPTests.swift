import API
import Audit
import DoseSafety
import JSON
import Messages
import Testing

@testable import Daemon

/// The one mapping from a command's outcome to its HTTP answer: every case
/// of `CommandOutcome` with the status and code it is answered with, first
/// and on every replay, and the JSON a command shows it as.
@Suite("outcomes as HTTP")
struct OutcomeHTTPTests {
    static let finding = Finding(severity: .hard, rule: "device.max_rate", field: "steps[0].rate", message: "too fast", source: "ICD §10")
    static let soft = Finding(severity: .soft, rule: "daily_dose.soft_max", field: "steps[0].rate", message: "above the soft limit", source: "library")
    static let attempt = Attempt(sessionTag: 7, seq: 9, opcode: .startBolus)

    /// Each failure or doubt, with the status and code the API answers it with.
    static let failures: [(CommandOutcome, Int, APIError.Code)] = [
        (.refused(.hardLimit(finding), findings: [finding]), 400, .deviceLimit),
        (.refused(.overrideRequired(first: soft, open: [soft]), findings: [soft]), 409, .overrideRequired),
        (.refused(.bolusActive(finding), findings: [finding]), 409, .bolusActive),
        (.refused(.noDrugLoaded(finding), findings: [finding]), 409, .noDrugLoaded),
        (.unusedOverride(Validation.UnusedOverride(index: 0, limit: "x", softRules: []), findings: []), 400, .unusedOverride),
        (.refusedByDevice(.limit, step: .startBolus), 422, .deviceRefused),
        (.notSent(.shuttingDown), 503, .shuttingDown),
        (.notSent(.stoppedBeforeSending), 503, .shuttingDown),
        (.notSent(.uncertainPending(commandID: "c3", kind: "bolus")), 409, .uncertainCommand),
        (.notSent(.noSession("no answer to HELLO")), 503, .deviceUnavailable),
        (.notSent(.stateUnread(.refused(.getStatus, .busy))), 422, .deviceRefused),
        (.notSent(.stateUnread(.noAnswer(.getProgram))), 503, .deviceUnavailable),
        (.notSent(.linkRefused(step: .suspend, why: "the device kept answering BUSY")), 503, .deviceUnavailable),
        (.notSent(.invalid("rate: too many steps")), 400, .outOfRange),
        (.notSent(.notRecorded(step: .suspend, dataDir: "/var/lib/pumpd")), 503, .auditUnavailable),
        (.noAnswer(.stageProgram), 503, .deviceUnavailable),
        (.uncertain(attempt), 202, .outcomeUncertain),
        (.notApplied, 409, .notApplied),
        (.readbackMismatch(.staged(crc: 1, sent: 2)), 502, .readbackMismatch),
        (.readbackMismatch(.differs(readBack: 3)), 502, .readbackMismatch),
        (.readbackMismatch(.unread(committed: 4)), 502, .readbackMismatch),
        (.actionRefused(code: "forbidden", message: "uid 65534 is not on pumpd's clinician list", field: nil), 403, .forbidden),
    ]

    @Test func everyFailureHasItsStatusCodeAndASentence() throws {
        for (outcome, status, code) in Self.failures {
            let e = try #require(outcome.apiError(commandID: "c9"), "\(outcome)")
            #expect(e.status == status && e.code == code, "\(outcome): \(e.status) \(e.code)")
            #expect(!e.message.isEmpty)
            // What the trail shows is the same error: the answer and the record agree.
            #expect(outcome.json(commandID: "c9")["error"]?["code"] == .string(code.rawValue), "\(outcome)")
        }
        // Whom to look at: the command that holds writes back, or this one while it is in doubt.
        #expect(CommandOutcome.notSent(.uncertainPending(commandID: "c3", kind: nil)).apiError(commandID: "c9")?.commandID == "c3")
        #expect(CommandOutcome.uncertain(Self.attempt).apiError(commandID: "c9")?.commandID == "c9")
        #expect(CommandOutcome.uncertain(Self.attempt).apiError(commandID: "c9")?.message.contains("START_BOLUS (seq 9)") == true)
        // Only an attempt that could not be recorded is answered without its command, to be retried later.
        let refusal = CommandOutcome.notSent(.notRecorded(step: .suspend, dataDir: "/d")).serviceRefusal(commandID: "c9")
        #expect(refusal?.status == 503 && refusal?.code == .auditUnavailable && refusal?.retryAfterSeconds == 30 && refusal?.commandID == "c9")
        #expect(Self.failures.filter { $0.0.serviceRefusal(commandID: "c9") != nil }.count == 1)
    }

    @Test func aDoseRefusalShowsEveryFinding() {
        let o = CommandOutcome.refused(.overrideRequired(first: Self.soft, open: [Self.soft]), findings: [Self.finding, Self.soft])
        guard case .array(let shown)? = o.json(commandID: "c9")["findings"] else { Issue.record("no findings"); return }
        #expect(shown.count == 2)
    }

    @Test func whatSucceededAnswersNoErrorAndShowsItsFields() {
        let event = EventRecord(index: 5, time: UnixTime(seconds: 1_800_000_000), code: EventCode.bolusStarted.rawValue, originSeq: 9, originSession: 7)
        let cases: [(CommandOutcome, JSONValue)] = [
            (.succeeded(.done), .object([:])),
            (.succeeded(.bolusStarted(bolusID: 4)), .object(["bolus_id": .int(4)])),
            (.succeeded(.programCRC(77)), .object(["program_crc": .int(77)])),
            (.succeeded(.committed(programCRC: 77)), .object(["program_crc": .int(77), "readback": .string("identical")])),
            (.applied([event]), .array([Answers.event(event)])),
        ]
        for (outcome, json) in cases {
            #expect(outcome.apiError(commandID: "c9") == nil, "\(outcome)")
            #expect(outcome.json(commandID: "c9") == json, "\(outcome)")
        }
        #expect(CommandOutcome.succeeded(.bolusCancelled(delivered: Nanograms(UInt64(250_000)))).json(commandID: "c9")["delivered"] != nil)
    }
}
