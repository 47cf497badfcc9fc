import Messages

/// The review screen as a value: what is and what would be, side by side,
/// the daily doses, when the reservoir would reach its alarm level and run
/// empty, and every limit the change hits, hard ones first. The same review
/// runs inside each write, which refuses what it refuses.
public struct Review: Sendable, Hashable, Codable {
    /// An amount of drug, and the unit its drug is usually written in ("mg" or "mcg"; nil: none loaded).
    public struct Dose: Sendable, Hashable, Codable {
        public var nanograms: UInt64
        public var perDay: Bool
        public var usualUnit: String?
    }

    /// One program's side: the program, its doses and its projection.
    public struct Side: Sendable, Hashable, Codable {
        public struct Doses: Sendable, Hashable, Codable {
            public var averageDaily: Dose
            public var highestStepRate: Dose
            public var busiestDay: Dose
            public var patientBolusDailyMax: Dose
        }
        public var program: ProgramRecord?
        /// nil when there is no program.
        public var doses: Doses?
        public var projection: Projection
    }

    /// How the average daily dose moves: "start" when there was no program.
    public struct DoseChange: Sendable, Hashable, Codable {
        public var direction: String
        public var amount: Dose
        public var percent: String?
    }

    /// The pump's contents on one side of a refill.
    public struct Contents: Sendable, Hashable, Codable {
        public var drug: Drug?
        public var concentration: NanogramsPerMillilitre
        public var reservoir: Nanolitres
        public var lowAlarm: Nanolitres
        public var projection: Projection
    }

    public enum Detail: Sendable, Hashable, Codable {
        case program(current: Side, proposed: Side, change: DoseChange)
        case bolus(
            dose: Dose, duration: Minutes, volume: Nanolitres?, bolusRunning: Dose, current: Projection, proposed: Projection)
        /// `concentrationText` is the new concentration in both units, its drug's usual one first.
        case refill(
            current: Contents, activeProgram: ProgramRecord?, proposed: Contents, concentrationText: String, programKept: Bool)
        /// A command with no dose, volume or limit in it.
        case none
    }

    public var kind: String
    public var verdict: Validation.Verdict
    public var drug: Drug?
    public var concentration: NanogramsPerMillilitre
    public var deviceTime: UnixTime
    public var detail: Detail
    /// Hard findings first, then soft, then information.
    public var findings: [Finding]
    /// After a refill that changed the drug or its concentration (within a
    /// visit, whose start recorded the old fill): how the old drug in the
    /// catheter clears at the proposed program, and the bridge bolus.
    public var clearance: CatheterClearance?

    public static let assumptions =
        "projections assume the pump runs the program from the device's time now, the patient takes every bolus the program allows each day, and a running bolus finishes first"

    public init(_ plan: Plan, _ c: CheckContext, findings: [Finding], library: DrugLibrary?) {
        let s = c.status
        let usual = s.loadedDrug.flatMap { library?.entry($0)?.displayUnit }
        func dose(_ ng: UInt64, perDay: Bool) -> Dose { Dose(nanograms: ng, perDay: perDay, usualUnit: usual) }
        func side(_ p: ProgramRecord?) -> Side {
            Side(
                program: p,
                doses: p.map {
                    Side.Doses(
                        averageDaily: dose(Schedule.averageDailyDose($0).raw, perDay: true),
                        highestStepRate: dose(Schedule.highestRate($0).raw, perDay: true),
                        busiestDay: dose(Schedule.busiestDay($0).raw, perDay: false),
                        patientBolusDailyMax: dose(Schedule.patientDailyMaximum($0).raw, perDay: true))
                },
                projection: Self.project(p, s))
        }
        kind = plan.kind
        verdict = Validation.verdict(findings)
        drug = s.loadedDrug
        concentration = s.concentration
        deviceTime = s.deviceTime
        self.findings = findings.sorted { $0.severity.rank < $1.severity.rank }
        switch plan {
        case .program(let p):
            let old = c.activeProgram.map { Schedule.averageDailyDose($0).raw } ?? 0
            let change = Change(from: old, to: Schedule.averageDailyDose(p).raw)
            detail = .program(
                current: side(c.activeProgram), proposed: side(p),
                change: DoseChange(
                    direction: c.activeProgram == nil ? "start" : change.direction.rawValue,
                    amount: dose(change.amount, perDay: true), percent: change.percentText))
        case .bolus(let b):
            detail = .bolus(
                dose: dose(b.dose.raw, perDay: false), duration: b.duration,
                volume: Volumes.volume(of: b.dose, at: s.concentration),
                bolusRunning: dose(s.bolusRemaining.raw, perDay: false),
                current: Self.project(c.activeProgram, s), proposed: Self.project(c.activeProgram, s, extraBolus: b.dose))
        case .refill(let r, _):
            let usualNew = r.drug.flatMap { library?.entry($0)?.displayUnit }
            let keeps = s.loadedDrug == r.drug && s.concentration == r.concentration
            var after = s
            after.lowAlarm = r.lowAlarm
            after.bolusRemaining = .zero  // a refill cancels a running bolus (ICD §6)
            detail = .refill(
                current: Contents(
                    drug: s.loadedDrug, concentration: s.concentration, reservoir: s.reservoir, lowAlarm: s.lowAlarm,
                    projection: Self.project(c.activeProgram, s)),
                activeProgram: c.activeProgram,
                proposed: Contents(
                    drug: r.drug, concentration: r.concentration, reservoir: r.reservoir, lowAlarm: r.lowAlarm,
                    projection: Self.project(
                        keeps ? c.activeProgram : nil, after, reservoir: r.reservoir, concentration: r.concentration)),
                concentrationText: DoseText.both(r.concentration.raw, perDay: false, first: usualNew ?? "mg", perML: true),
                programKept: keeps && c.activeProgram != nil)
        case .cancelBolus, .suspend, .resume, .clockSync, .ackAlarm:
            detail = .none
        }
    }

    static func project(
        _ program: ProgramRecord?, _ s: Status, reservoir: Nanolitres? = nil, extraBolus: Nanograms = .zero,
        concentration: NanogramsPerMillilitre? = nil
    ) -> Projection {
        Projection.project(
            program: program, reservoir: reservoir ?? s.reservoir, lowAlarm: s.lowAlarm,
            concentration: concentration ?? s.concentration, bolusRemaining: s.bolusRemaining + extraBolus, now: s.deviceTime)
    }
}

extension Finding.Severity {
    /// The order a review lists findings in.
    var rank: Int {
        switch self {
        case .hard: 0
        case .soft: 1
        case .info: 2
        }
    }
}
