import Messages

/// The implant's event log (ICD §8): up to 4,096 records; `head` is the index
/// the next event gets. Indices count from 0 at manufacture and never repeat,
/// so when the log is full the oldest record is overwritten.
public struct EventLog: Sendable, Hashable {
    public static let capacity = 4096

    /// Index i lives at slot i % capacity, whatever index the log started at.
    private var slots: [EventRecord?]
    public private(set) var count = 0
    public private(set) var head: UInt32

    public init(head: UInt32 = 0) {
        self.head = head
        slots = Array(repeating: nil, count: Self.capacity)
    }

    /// Index of the oldest record kept.
    public var oldest: UInt32 { head &- UInt32(count) }

    /// Appends an event and returns its record.
    @discardableResult
    public mutating func append(time: UnixTime, code: EventCode, origin: Origin, value1: UInt32 = 0, value2: UInt32 = 0) -> EventRecord {
        let record = EventRecord(
            index: head, time: time, code: code.rawValue, originSeq: origin.seq, originSession: origin.session,
            value1: value1, value2: value2)
        store(record)
        return record
    }

    /// Puts back a record saved earlier; false (nothing stored) unless it is the next index.
    public mutating func restore(_ record: EventRecord) -> Bool {
        guard record.index == head else { return false }
        store(record)
        return true
    }

    private mutating func store(_ record: EventRecord) {
        slots[Int(record.index % UInt32(Self.capacity))] = record
        count = min(count + 1, Self.capacity)
        head &+= 1
    }

    /// Up to `limit` records from `from` on, oldest first (§6 READ_EVENTS): an
    /// index older than the oldest kept starts at the oldest; one at or past
    /// the head gives none.
    public func read(from: UInt32, limit: Int) -> [EventRecord] {
        let start = max(from, oldest)
        guard start < head, limit > 0 else { return [] }
        let n = min(Int(head - start), limit)
        return (0..<n).compactMap { k in record(at: start + UInt32(k)) }
    }

    /// The record with `index`, if the log still holds it.
    public func record(at index: UInt32) -> EventRecord? {
        guard index >= oldest && index < head else { return nil }
        return slots[Int(index % UInt32(Self.capacity))]
    }

    /// Every record kept, oldest first.
    public var all: [EventRecord] { read(from: oldest, limit: count) }
}

/// Who caused an event: a request (its session tag and seq) or the device itself (zeros).
public struct Origin: Sendable, Hashable {
    public var session: UInt32
    public var seq: UInt16
    public init(session: UInt32, seq: UInt16) {
        self.session = session
        self.seq = seq
    }
    public static let device = Origin(session: 0, seq: 0)
}
