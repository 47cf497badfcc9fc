import Crypto
import JSON

/// Where a station's chain first fails, and why.
public struct ChainBreak: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Records are missing before this one (or after the last one held).
        case gap
        /// Its prev_hash is not the hash of the record before it.
        case prevMismatch = "prev_mismatch"
        /// Its hash is not SHA-256(prev_hash || "\n" || payload): its payload or hash was changed.
        case hashMismatch = "hash_mismatch"
        /// Its columns (seq, at_ms, source, key, row), which the views read, are not its payload's.
        case contentMismatch = "content_mismatch"
    }
    public var station: String
    public var seq: Int64
    public var kind: Kind
    public var reason: String

    public init(station: String, seq: Int64, kind: Kind, reason: String) {
        self.station = station
        self.seq = seq
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "station \(station), record \(seq): \(reason)" }
}

/// One station's chain as recomputed.
public struct StationChain: Sendable, Hashable {
    public var station: String
    public var records: Int64
    /// The highest seq held (0: none).
    public var lastSeq: Int64
    /// The first break, or nil when every record holds.
    public var firstBreak: ChainBreak?
}

/// Recomputes one station's chain from its records, fed in seq order, one at
/// a time: nothing but the previous hash is kept, so a chain of any length
/// is checked in constant memory. Pure: the database driver is ChainCheck.
public struct ChainVerifier: Sendable {
    public static let zeroHash = String(repeating: "0", count: 64)

    public let station: String
    /// Where pumpd.station says the chain stands: its tail is checked against it.
    let expectedLastSeq: Int64
    let expectedLastHash: String
    var previousSeq: Int64 = 0
    var previousHash = ChainVerifier.zeroHash
    var records: Int64 = 0
    var firstBreak: ChainBreak?

    public init(station: String, expectedLastSeq: Int64, expectedLastHash: String) {
        self.station = station
        self.expectedLastSeq = expectedLastSeq
        self.expectedLastHash = expectedLastHash
    }

    /// One record as pumpd.record holds it; `row` is the row column's JSON text.
    public mutating func feed(
        seq: Int64, atMs: Int64, source: String, key: String, payload: String, prevHash: String, hash: String, row: String?
    ) {
        records += 1
        defer {
            previousSeq = seq
            previousHash = hash
        }
        guard firstBreak == nil else { return }
        func broken(_ kind: ChainBreak.Kind, _ reason: String) { firstBreak = ChainBreak(station: station, seq: seq, kind: kind, reason: reason) }
        if seq != previousSeq + 1 {
            broken(
                .gap,
                seq <= previousSeq
                    ? "record \(seq) comes after record \(previousSeq)"
                    : previousSeq + 1 == seq - 1
                        ? "record \(previousSeq + 1) is missing" : "records \(previousSeq + 1)…\(seq - 1) are missing")
            return
        }
        if prevHash != previousHash {
            broken(.prevMismatch, "its prev_hash \(prevHash) is not the hash \(previousHash) of record \(previousSeq)")
            return
        }
        let computed = Self.hash(prev: prevHash, payload: payload)
        if computed != hash {
            broken(.hashMismatch, "its hash \(hash) is not SHA-256(prev_hash, payload) = \(computed): its payload or its hash was changed")
            return
        }
        if let why = Self.contentDiffers(seq: seq, atMs: atMs, source: source, key: key, payload: payload, row: row) {
            broken(.contentMismatch, why)
        }
    }

    /// The chain's end, checked against where pumpd.station says it stands.
    public mutating func finish() -> StationChain {
        if firstBreak == nil {
            if previousSeq < expectedLastSeq {
                firstBreak = ChainBreak(
                    station: station, seq: previousSeq + 1, kind: .gap,
                    reason: previousSeq + 1 == expectedLastSeq
                        ? "record \(expectedLastSeq), the station's last, is missing"
                        : "records \(previousSeq + 1)…\(expectedLastSeq) are missing (the station's last_seq is \(expectedLastSeq))")
            } else if previousSeq > expectedLastSeq {
                firstBreak = ChainBreak(
                    station: station, seq: expectedLastSeq + 1, kind: .gap,
                    reason: "records after the station's last_seq \(expectedLastSeq) are held (up to \(previousSeq)): they were not ingested")
            } else if previousHash != expectedLastHash {
                firstBreak = ChainBreak(
                    station: station, seq: previousSeq, kind: .hashMismatch,
                    reason: "its hash \(previousHash) is not the station's last_hash \(expectedLastHash)")
            }
        }
        return StationChain(station: station, records: records, lastSeq: previousSeq, firstBreak: firstBreak)
    }

    /// hex(SHA-256(prev || "\n" || payload)), as the station computes it.
    public static func hash(prev: String, payload: String) -> String {
        var h = SHA256()
        var p = prev
        p.withUTF8 { h.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        h.update(data: [UInt8(ascii: "\n")])
        var text = payload
        text.withUTF8 { h.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        let hexDigits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in h.finalize() {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Why the columns the views read are not what the payload (the hashed
    /// text) says, or nil when they agree.
    static func contentDiffers(seq: Int64, atMs: Int64, source: String, key: String, payload: String, row: String?) -> String? {
        // A station wrote it (whole numbers only): its strings are not bounded
        // as outside input is, since a row may quote a long request whole.
        guard case .object(let doc)? = try? JSONValue.parse(payload, boundingStrings: false) else {
            return "its payload is not the JSON object a station writes"
        }
        var differs: [String] = []
        if doc["seq"] != .int(seq) { differs.append("seq") }
        if doc["atMs"] != .int(atMs) { differs.append("at_ms") }
        if doc["source"] != .string(source) { differs.append("source") }
        if doc["key"] != .string(key) { differs.append("key") }
        let held = row.flatMap { try? JSONValue.parse($0, boundingStrings: false) } ?? .null
        if (doc["row"] ?? .null) != held { differs.append("row") }
        guard !differs.isEmpty else { return nil }
        return "its \(differs.joined(separator: ", ")) column\(differs.count == 1 ? " is" : "s are") not what its payload says: the row was changed after it was ingested"
    }
}
