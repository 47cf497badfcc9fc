import Glibc

/// The part both backends share once a port is open: its file descriptor,
/// waited on with poll(2) for reading and writing, the sticky "vanished" state,
/// and a close that is safe while another thread is waiting.
///
/// Why nothing spins: a read makes one poll(2) call that sleeps until the fd
/// is readable, hung up, or the timeout; readiness is then acted on (bytes,
/// EOF, EIO, ENXIO, POLLHUP all end the call). Once the port has vanished,
/// every later call answers from memory without a system call, so a caller
/// that keeps reading a dead port cannot turn it into a busy loop either.
///
/// Why close is safe: close() never closes the fd under a thread that is in
/// poll(2) with it (the number could be reused by an unrelated open). It marks
/// the port closed and writes a byte to a wake-up pipe that every poll also
/// waits on; the last call to leave closes the fd.
final class PortDescriptor: @unchecked Sendable {
    let fd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let lock = Lock()
    // Everything below is guarded by `lock`.
    private var state: State = .open
    private var inFlight = 0
    private var release: (@Sendable () -> Void)?
    private var tally = SerialCounters()

    private enum State { case open, vanished(PortVanished), closed }

    /// Takes ownership of `fd`; `release` closes it (and frees whatever owns it) exactly once.
    init(fd: Int32, release: @escaping @Sendable () -> Void) throws(SerialError) {
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            let code = errno
            release()
            throw .system(call: "pipe", errno: code)
        }
        for end in pipeFDs {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        // Writes must never block outside poll; libserialport opens with
        // O_NONBLOCK today, and this keeps it so whatever opened the fd.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        self.fd = fd
        self.wakeRead = pipeFDs[0]
        self.wakeWrite = pipeFDs[1]
        self.release = release
    }

    deinit {
        release?()
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    var counters: SerialCounters { lock.withLock { tally } }

    // MARK: Entering and leaving

    /// Runs `body` with the fd, keeping it open until `body` returns even if
    /// `close()` is called meanwhile. Throws `.closed` after close, and
    /// `.vanished` after the port vanished unless `whenVanished` answers instead.
    func withDescriptor<T>(
        whenVanished: ((PortVanished) -> T)? = nil,
        _ body: (Int32) throws(SerialError) -> T
    ) throws(SerialError) -> T {
        let gone: PortVanished? = try lock.withLock { () throws(SerialError) -> PortVanished? in
            switch state {
            case .closed: throw .closed
            case .vanished(let reason): return reason
            case .open: inFlight += 1; return nil
            }
        }
        if let gone {
            if let whenVanished { return whenVanished(gone) }
            throw .vanished(gone)
        }
        defer { leave() }
        return try body(fd)
    }

    private func leave() {
        let closeNow: (@Sendable () -> Void)? = lock.withLock {
            inFlight -= 1
            guard case .closed = state, inFlight == 0 else { return nil }
            defer { release = nil }
            return release
        }
        closeNow?()
    }

    func close() {
        let closeNow: (@Sendable () -> Void)? = lock.withLock {
            if case .closed = state { return nil }
            state = .closed
            if inFlight > 0 {
                var one: UInt8 = 1
                _ = Glibc.write(wakeWrite, &one, 1)
                return nil
            }
            defer { release = nil }
            return release
        }
        closeNow?()
    }

    /// Records that the port is gone; the first reason seen is the one kept.
    @discardableResult
    func markVanished(_ reason: PortVanished) -> PortVanished {
        lock.withLock {
            switch state {
            case .open: state = .vanished(reason); return reason
            case .vanished(let first): return first
            case .closed: return reason
            }
        }
    }

    // MARK: Reading and writing

    func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(SerialError) -> SerialEvent {
        try withDescriptor(whenVanished: { .vanished($0) }) { (fd) throws(SerialError) -> SerialEvent in
            // A read into no room would return 0, which means end of file.
            guard buffer.count > 0 else { throw .system(call: "read into an empty buffer", errno: EINVAL) }
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            while true {
                let ready = try wait(for: Int16(POLLIN), until: deadline, clock: clock)
                guard let revents = ready else { return .timeout }
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                let code = errno
                lock.withLock {
                    tally.reads += 1
                    if n > 0 { tally.bytesRead += n }
                }
                if n > 0 { return .bytes(n) }
                if n == 0 { return .vanished(markVanished(.eof)) }
                if let reason = PortVanished.from(errno: code) { return .vanished(markVanished(reason)) }
                switch code {
                case EAGAIN, EWOULDBLOCK, EINTR:
                    // Readable a moment ago, nothing now. A hang-up with nothing
                    // left to read is the end; otherwise wait again (poll sleeps).
                    if revents & Int16(POLLHUP | POLLERR) != 0 { return .vanished(markVanished(.hangup)) }
                default:
                    throw .system(call: "read", errno: code)
                }
            }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, timeout: Duration) throws(SerialError) {
        try withDescriptor { (fd) throws(SerialError) in
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                let code = errno
                if n > 0 {
                    offset += n
                    lock.withLock { tally.bytesWritten += n }
                    continue
                }
                if n < 0, let reason = PortVanished.from(errno: code) { throw .vanished(markVanished(reason)) }
                if n < 0 && code == EINTR { continue }
                guard n == 0 || code == EAGAIN || code == EWOULDBLOCK else { throw .system(call: "write", errno: code) }
                // The driver's buffer is full: sleep in poll until it drains.
                guard let revents = try wait(for: Int16(POLLOUT), until: deadline, clock: clock) else {
                    throw .writeTimedOut(written: offset, of: bytes.count)
                }
                if revents & Int16(POLLOUT) == 0 && revents & Int16(POLLHUP | POLLERR) != 0 {
                    throw .vanished(markVanished(.hangup))
                }
            }
        }
    }

    /// One poll(2) on the port and the wake-up pipe, retried only on EINTR.
    /// Returns the port's revents, or nil when the deadline passed.
    private func wait(for events: Int16, until deadline: ContinuousClock.Instant, clock: ContinuousClock) throws(SerialError) -> Int16? {
        while true {
            var fds = [
                pollfd(fd: fd, events: events, revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            let ms = Self.milliseconds(clock.now.duration(to: deadline))
            lock.withLock { tally.polls += 1 }
            let r = poll(&fds, 2, ms)
            if r < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .system(call: "poll", errno: code)
            }
            if fds[1].revents != 0 { throw .closed }
            if r == 0 { return nil }
            if fds[0].revents & Int16(POLLNVAL) != 0 { throw .closed }
            return fds[0].revents
        }
    }

    /// A poll(2) timeout: whole milliseconds rounded up, 0 for the past.
    static func milliseconds(_ d: Duration) -> Int32 {
        let (seconds, attoseconds) = d.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        if seconds >= Int64(Int32.max / 1000) { return Int32.max }
        return Int32(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    // MARK: Settings

    func lineSettings() throws(SerialError) -> LineSettings {
        try withDescriptor { (fd) throws(SerialError) -> LineSettings in try LineSettings(fd: fd) }
    }
}
