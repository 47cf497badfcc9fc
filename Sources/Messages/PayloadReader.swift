import Wire

/// The fields of a payload, read in order. Decoders check a payload's length
/// before they read it; should one miscount, reading past the end is a length
/// error (BAD_FRAME), never a trap on a device's bytes.
extension ByteReader {
    mutating func take<T>(_ read: (inout ByteReader) -> T?) throws(PayloadError) -> T {
        guard let v = read(&self) else { throw .length(expected: "more than \(bytes.count)", actual: bytes.count) }
        return v
    }

    mutating func takeU8() throws(PayloadError) -> UInt8 { try take { $0.u8() } }
    mutating func takeI8() throws(PayloadError) -> Int8 { try take { $0.i8() } }
    mutating func takeU16() throws(PayloadError) -> UInt16 { try take { $0.u16() } }
    mutating func takeI16() throws(PayloadError) -> Int16 { try take { $0.i16() } }
    mutating func takeU32() throws(PayloadError) -> UInt32 { try take { $0.u32() } }
    mutating func takeI64() throws(PayloadError) -> Int64 { try take { $0.i64() } }
    mutating func takeBytes(_ n: Int) throws(PayloadError) -> [UInt8] { try take { $0.bytes(n) } }
    mutating func takeNonce() throws(PayloadError) -> Nonce { try take { r in r.bytes(16).flatMap { Nonce(bytes: $0) } } }
}
