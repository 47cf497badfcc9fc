/// CRC-32C (Castagnoli), ICD §3: reflected polynomial 0x82F63B78 (0x1EDC6F41
/// unreflected), initial value and final XOR 0xFFFFFFFF. Check value for
/// ASCII "123456789" is 0xE3069283.
///
/// The hot path is slice-by-8: eight 256-entry tables let the loop consume
/// eight bytes per iteration with eight independent lookups instead of eight
/// dependent ones. `BENCHMARKS.md` has the figures against the byte-at-a-time
/// loop (`bytewise`), which stays as the reference the tests compare against.
public enum CRC32C {
    static let polynomial: UInt32 = 0x82F6_3B78

    /// Eight tables of 256 entries, flattened: table k starts at k * 256.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ polynomial : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// The CRC of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        let copy = Array(bytes)
        return copy.withUnsafeBytes { checksum($0) }
    }

    /// The CRC of `buffer` (slice-by-8).
    public static func checksum(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        ~update(0xFFFF_FFFF, buffer)
    }

    /// Advances a running (pre-inverted) register over `buffer`.
    static func update(_ register: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { t in
            var c = register
            var i = 0
            let n = buffer.count
            while n - i >= 8 {
                let word = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let lo = UInt32(truncatingIfNeeded: word) ^ c
                let hi = UInt32(truncatingIfNeeded: word >> 32)
                c = t[7 * 256 + Int(lo & 0xFF)]
                    ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)]
                    ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)]
                    ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)]
                    ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = (c >> 8) ^ t[Int((c ^ UInt32(buffer[i])) & 0xFF)]
                i += 1
            }
            return c
        }
    }

    /// Byte-at-a-time reference: one table lookup per byte. Kept to check the
    /// sliced loop against and to show in the benchmark what slicing buys.
    public static func bytewise(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { t in
            var c: UInt32 = 0xFFFF_FFFF
            for b in buffer { c = (c >> 8) ^ t[Int((c ^ UInt32(b)) & 0xFF)] }
            return ~c
        }
    }
}
