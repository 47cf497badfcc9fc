/// Little-endian field access over byte arrays (ICD: "little-endian everywhere").
/// The reader never traps: every read is bounds-checked and returns nil past
/// the end, so decoders of untrusted payloads cannot crash on short input.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    public mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func i8() -> Int8? { u8().map { Int8(bitPattern: $0) } }
    public mutating func u16() -> UInt16? { integer(UInt16.self) }
    public mutating func i16() -> Int16? { integer(UInt16.self).map { Int16(bitPattern: $0) } }
    public mutating func u32() -> UInt32? { integer(UInt32.self) }
    public mutating func i64() -> Int64? { integer(UInt64.self).map { Int64(bitPattern: $0) } }

    public mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for k in 0..<size { value |= T(bytes[offset + k]) << (8 * k) }
        offset += size
        return value
    }
}

/// Little-endian field writer; appends to a growing array.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func i8(_ v: Int8) { bytes.append(UInt8(bitPattern: v)) }
    public mutating func u16(_ v: UInt16) { integer(v) }
    public mutating func i16(_ v: Int16) { integer(UInt16(bitPattern: v)) }
    public mutating func u32(_ v: UInt32) { integer(v) }
    public mutating func i64(_ v: Int64) { integer(UInt64(bitPattern: v)) }
    public mutating func bytes(_ v: [UInt8]) { bytes.append(contentsOf: v) }
    public mutating func zeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }

    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_ v: T) {
        for k in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
    }
}
