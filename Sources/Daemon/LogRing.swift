/// The newest `capacity` log lines, each with its sequence number: a fixed
/// ring, so that adding a line costs the same however full it is, and a
/// line is found from its number by arithmetic (line `seq` lives in slot
/// `seq % capacity` while it is kept).
struct LogRing: Sendable {
    let capacity: Int
    private var slots: [String]
    /// The number the next line gets; lines 0..<nextSeq have been added.
    private(set) var nextSeq: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a log ring holds at least one line")  // trap-ok: LogBook's constant, never input
        self.capacity = capacity
        slots = Array(repeating: "", count: capacity)
    }

    /// The oldest line still kept (nextSeq when none is).
    var oldestSeq: UInt64 { nextSeq - min(nextSeq, UInt64(capacity)) }

    mutating func append(_ line: String) {
        slots[slot(nextSeq)] = line
        nextSeq += 1
    }

    private func slot(_ seq: UInt64) -> Int { Int(seq % UInt64(capacity)) }

    /// What a reader at `since` gets: up to `limit` lines from `since` on,
    /// the number to ask for next, and the lines it can no longer have
    /// (`since` older than the oldest kept) so that it can say so.
    struct Read: Equatable {
        var lines: [String]
        var next: UInt64
        var lost: Range<UInt64>?
    }

    func read(since: UInt64, limit: Int) -> Read {
        let start = max(since, oldestSeq)
        let lost = since < start ? since..<start : nil
        guard start < nextSeq, limit > 0 else { return Read(lines: [], next: start, lost: lost) }
        let count = Int(min(UInt64(limit), nextSeq - start))
        var lines: [String] = []
        lines.reserveCapacity(count)
        for i in 0..<UInt64(count) { lines.append(slots[slot(start + i)]) }
        return Read(lines: lines, next: start + UInt64(count), lost: lost)
    }
}
