import Foundation
import Messages
import Serial
import Synchronization
import Wire

/// What the link tells its owner besides the outcomes of requests.
public enum LinkNotice: Sendable, Hashable {
    case portOpened(String)
    /// The port could not be opened (busy, absent, not permitted): why, said
    /// once per different reason while the link keeps trying.
    case portUnavailable(String)
    /// A state-changing request went out as this attempt (see `LinkAction.sending`).
    case sending(RequestID, Attempt)
    case connected(HelloReply)
    case down(String)
    case event(EventRecord)
    case eventsLost(from: UInt32, to: UInt32)
    case reconciled(RequestID, Attempt, Reconciliation)
    case security(String)
    /// A figure of the line's health (see `LinkObservation`).
    case observed(LinkObservation)
}

/// Sees every byte the link writes (as it is handed to the port) and reads,
/// in order: a capture recorder. Called on the thread doing the I/O, so it
/// must be quick.
public protocol LinkTap: Sendable {
    func sent(_ bytes: [UInt8])
    func received(_ bytes: ArraySlice<UInt8>)
}

/// Runs a `LinkMachine` over a serial port: one thread reads the port (in
/// poll(2), never spinning) and drives the machine's clock; callers submit
/// requests from any task and await their outcomes. When the port vanishes
/// the machine is told, and the path is opened again with back-off until
/// the device returns (ICD §1: it may vanish and reappear at any time).
public final class SerialLink: Sendable {
    struct State: ~Copyable {
        var machine: LinkMachine
        var port: (any SerialPort)?
        var waiting: [RequestID: CheckedContinuation<LinkOutcome, Never>] = [:]
        var nextID: RequestID = 1
        var running = true
        var tap: (any LinkTap)?
        /// When the thread last went round its loop (`nowMs`); nil before it started.
        var turnedAtMs: Int64?
    }

    public let path: String
    public let baud: Baud
    let beforeSending: (@Sendable (RequestID, Attempt) -> Bool)?
    let state: Mutex<State>
    public let notices: AsyncStream<LinkNotice>
    let noticeSink: AsyncStream<LinkNotice>.Continuation

    /// - Parameter beforeSending: called with each state-changing request's
    ///   attempt before its first byte is written, on the link's thread; an
    ///   owner records it durably there (the write waits for it). If it
    ///   returns false (it could not record it), the request is not sent and
    ///   ends `.notSent(.notRecorded)`.
    public init(
        path: String, baud: Baud = .default, pairingKey: PairingKey, config: LinkConfig? = nil, eventCursor: UInt32 = 0,
        uncertain: [(RequestID, Attempt)] = [], beforeSending: (@Sendable (RequestID, Attempt) -> Bool)? = nil
    ) {
        self.path = path
        self.baud = baud
        self.beforeSending = beforeSending
        let machine = LinkMachine(
            pairingKey: pairingKey, config: config ?? LinkConfig(baud: baud.bitsPerSecond), eventCursor: eventCursor,
            uncertain: uncertain)
        state = Mutex(State(machine: machine))
        (notices, noticeSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Starts the thread that owns the port.
    public func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "serial-link"
        thread.start()
    }

    /// Stops the thread and closes the port; requests still waiting end as the machine decides.
    public func stop() {
        state.withLock { $0.running = false }
    }

    /// Starts (or, with nil, stops) showing the link's bytes to `tap`.
    public func setTap(_ tap: (any LinkTap)?) {
        state.withLock { $0.tap = tap }
    }

    public var isReady: Bool { state.withLock { $0.machine.isReady } }
    /// When the link's thread last went round its loop, on `nowMs`'s clock
    /// (nil before it started). It goes round at least every 100 ms while
    /// the port is open and every 2 s while it is away: a thread that has
    /// not turned for longer is stuck (pumpd's watchdog reads this).
    public var turnedAtMs: Int64? { state.withLock { $0.turnedAtMs } }
    /// Whether `stop` was called: nothing is sent from then on.
    public var isStopped: Bool { state.withLock { !$0.running } }
    public var unreconciledIDs: [RequestID] { state.withLock { $0.machine.unreconciledIDs } }
    public var eventCursor: UInt32 { state.withLock { $0.machine.eventCursor } }
    public var sessionTag: UInt32? { state.withLock { $0.machine.sessionTag } }

    /// Sends `request` and waits for its outcome. `id` names it in the
    /// outcome and in reconciliation notices; by default the link picks one.
    public func send(_ request: Request, id: RequestID? = nil, implant: SerialNumber? = nil) async -> LinkOutcome {
        await withCheckedContinuation { (c: CheckedContinuation<LinkOutcome, Never>) in
            let now = Self.nowMs()
            let (actions, port) = state.withLock { s -> ([LinkAction], (any SerialPort)?) in
                // Ids the caller chooses live in their own range (the daemon's
                // start at 2^40); only ids picked here advance the counter.
                let rid = id ?? s.nextID
                if id == nil { s.nextID += 1 }
                s.waiting[rid] = c
                return (s.machine.submit(request, id: rid, now: now, implant: implant), s.port)
            }
            perform(actions, port: port)
        }
    }

    /// Milliseconds on a monotonic clock (the machine's deadlines, `turnedAtMs`).
    public static func nowMs() -> Int64 {
        Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000)
    }

    /// Delivers the pump's log again from `index` on, the next time it is
    /// read: the owner could not keep what was delivered from there (see
    /// `LinkMachine.rewindEvents`).
    public func rewindEvents(to index: UInt32) {
        state.withLock { $0.machine.rewindEvents(to: index) }
    }

    /// Reads the pump's log from the event cursor now.
    public func readEvents() {
        let now = Self.nowMs()
        let (actions, port) = state.withLock { s -> ([LinkAction], (any SerialPort)?) in
            (s.machine.readEvents(now: now), s.port)
        }
        perform(actions, port: port)
    }

    /// Carries out the machine's actions: writes go to the port, outcomes to their waiters.
    func perform(_ actions: [LinkAction], port: (any SerialPort)?) {
        var withdrawn = false
        for a in actions {
            switch a {
            case .sending(let id, let attempt):
                if let beforeSending, !beforeSending(id, attempt) {
                    // Not recorded: its frame (the next action) must not go out.
                    withdrawn = true
                    let now = Self.nowMs()
                    let more = state.withLock { $0.machine.withdraw(id, now: now) }
                    perform(more, port: port)
                    continue
                }
                noticeSink.yield(.sending(id, attempt))
            case .write where withdrawn:
                withdrawn = false
            case .write(let bytes):
                guard let port else { break }
                // Shown before the write: an answer read on the other thread
                // must never be recorded ahead of the request it answers.
                state.withLock { $0.tap }?.sent(bytes)
                do { try port.write(bytes) } catch {}  // a vanished port shows up as a read event
            case .complete(let id, let outcome):
                let waiter = state.withLock { $0.waiting.removeValue(forKey: id) }
                waiter?.resume(returning: outcome)
            case .reconciled(let id, let attempt, let r): noticeSink.yield(.reconciled(id, attempt, r))
            case .event(let e): noticeSink.yield(.event(e))
            case .eventsLost(let from, let to): noticeSink.yield(.eventsLost(from: from, to: to))
            case .connected(let reply): noticeSink.yield(.connected(reply))
            case .down(let why): noticeSink.yield(.down(why))
            case .security(let what): noticeSink.yield(.security(what))
            case .observed(let o): noticeSink.yield(.observed(o))
            }
        }
    }

    func loop() {
        var reopenDelayMs: UInt32 = 100
        var lastProblem: String?
        var buffer = [UInt8](repeating: 0, count: 4096)
        while state.withLock({ s in
            s.turnedAtMs = Self.nowMs()
            return s.running
        }) {
            guard let port = state.withLock({ $0.port }) else {
                do {
                    let opened = try SerialPorts.open(path: path, baud: baud)
                    noticeSink.yield(.portOpened(opened.choice.description))
                    let actions = state.withLock { s in
                        s.port = opened.port
                        return s.machine.open(now: Self.nowMs())
                    }
                    perform(actions, port: opened.port)
                    reopenDelayMs = 100
                    lastProblem = nil
                } catch {
                    let problem = "\(error)"
                    if problem != lastProblem { noticeSink.yield(.portUnavailable(problem)) }
                    lastProblem = problem
                    usleep(reopenDelayMs * 1000)  // the device is away: look again later
                    reopenDelayMs = min(reopenDelayMs * 2, 2000)
                }
                continue
            }
            let now = Self.nowMs()
            let wait = state.withLock { s in (s.machine.nextDeadline ?? now + 100) - now }
            let timeout = Duration.milliseconds(max(1, min(wait, 100)))
            let event: SerialEvent
            do {
                event = try buffer.withUnsafeMutableBytes { b in try port.read(into: b, timeout: timeout) }
            } catch {
                event = .vanished(.eio)
            }
            let actions: [LinkAction] = state.withLock { s in
                let now = Self.nowMs()
                switch event {
                case .bytes(let n):
                    s.tap?.received(buffer[0..<n])
                    return s.machine.received(Array(buffer[0..<n]), now: now) + s.machine.tick(now: now)
                case .timeout: return s.machine.tick(now: now)
                case .vanished:
                    s.port = nil
                    return s.machine.portLost(now: now)
                }
            }
            if case .vanished = event { port.close() }
            perform(actions, port: port)
        }
        // Every request still waiting gets its outcome: a caller awaiting one
        // (a status poll, say) must not wait for ever once the loop is gone;
        // that hang held pumpd's stop past its cancellation limit (SIGILL).
        let (port, actions) = state.withLock { s -> ((any SerialPort)?, [LinkAction]) in
            defer { s.port = nil }
            return (s.port, s.machine.close(now: Self.nowMs()))
        }
        port?.close()
        perform(actions, port: nil)
        noticeSink.finish()
    }
}
