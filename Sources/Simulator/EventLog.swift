import Messages

/// The implant's event log (ICD §8): up to 4,096 records; `head` is the index
/// the next event gets. Indices count from 0 at manufacture and never repeat,
/// so when the log is full the oldest record is overwritten.
public struct EventLog: Sendable, Hashable {
    public static let capacity = 4096

    private var ring: [EventRecord] = []
    public private(set) var head: UInt32

    public init(head: UInt32 = 0) {
        self.head = head
        ring.reserveCapacity(Self.capacity)
    }

    /// Index of the oldest record kept.
    public var oldest: UInt32 { head - UInt32(ring.count) }
    public var count: Int { ring.count }

    /// Appends an event and returns its record.
    @discardableResult
    public mutating func append(time: UnixTime, code: EventCode, origin: Origin, value1: UInt32 = 0, value2: UInt32 = 0) -> EventRecord {
        let record = EventRecord(
            index: head, time: time, code: code.rawValue, originSeq: origin.seq, originSession: origin.session,
            value1: value1, value2: value2)
        if ring.count < Self.capacity {
            ring.append(record)
        } else {
            ring[Int(head % UInt32(Self.capacity))] = record
        }
        head &+= 1
        return record
    }

    /// Up to `limit` records from `from` on, oldest first (§6 READ_EVENTS): an
    /// index older than the oldest kept starts at the oldest; one at or past
    /// the head gives none.
    public func read(from: UInt32, limit: Int) -> [EventRecord] {
        let start = max(from, oldest)
        guard start < head, limit > 0 else { return [] }
        let n = min(Int(head - start), limit)
        return (0..<n).map { k in record(at: start + UInt32(k)) }
    }

    public func record(at index: UInt32) -> EventRecord {
        precondition(index >= oldest && index < head)
        return ring.count < Self.capacity ? ring[Int(index - oldest)] : ring[Int(index % UInt32(Self.capacity))]
    }

    /// Every record kept, oldest first.
    public var all: [EventRecord] { read(from: oldest, limit: ring.count) }
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
