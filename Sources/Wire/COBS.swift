/// Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999), the standard
/// form of ICD §2: no trailing zero is appended before encoding, and a block of
/// 254 non-zero bytes that ends the input gets no extra 0x01 code.
///
/// Both directions append to a caller-owned buffer so that a stream codec can
/// reuse one allocation for every frame.
public enum COBS {
    /// Upper bound of the encoded size of `count` bytes (without delimiter).
    @inlinable
    public static func maxEncodedCount(_ count: Int) -> Int { count + count / 254 + 1 }

    /// Appends the encoding of `input` to `output`. The result holds no 0x00.
    /// Whole blocks are copied at once: a block is up to 254 non-zero bytes,
    /// ended by a zero (which its code byte stands for) or by the input's end.
    public static func encode(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        let n = input.count
        var start = 0
        while true {
            let limit = min(n, start + 254)
            var end = start
            while end < limit && input[end] != 0 { end += 1 }
            output.append(UInt8(end - start + 1))
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<end]))
            if end - start == 254 {
                // A full block implies no zero; open another only if input remains.
                start = end
                if start == n { return }
            } else if end < n {
                // The block ended at a zero; a zero that ends the input leaves an empty last block.
                start = end + 1
                if start == n {
                    output.append(1)
                    return
                }
            } else {
                return
            }
        }
    }

    /// The encoding of `input`.
    public static func encode(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(maxEncodedCount(input.count))
        input.withUnsafeBytes { encode($0, into: &out) }
        return out
    }

    /// Appends the decoding of `input` (one chunk, delimiter excluded) to
    /// `output`. Returns false, leaving `output` in an unspecified state, when
    /// `input` is not a valid encoding: a code byte of 0x00, a zero inside a
    /// block, or a code that runs past the end of the chunk.
    public static func decode(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool {
        let n = input.count
        var i = 0
        while i < n {
            let code = Int(input[i])
            if code == 0 { return false }
            let end = i + code
            if end > n { return false }
            let block = UnsafeRawBufferPointer(rebasing: input[(i + 1)..<end])
            if block.contains(0) { return false }
            output.append(contentsOf: block)
            i = end
            if code != 0xFF && i < n { output.append(0) }
        }
        return true
    }

    /// The decoding of `input`, or nil if it is not a valid encoding.
    public static func decode(_ input: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        let ok = input.withUnsafeBytes { decode($0, into: &out) }
        return ok ? out : nil
    }
}
