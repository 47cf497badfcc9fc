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
    public static func encode(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.reserveCapacity(output.count + maxEncodedCount(input.count))
        var codeIndex = output.count
        output.append(0)  // placeholder for the first code byte
        var code: UInt8 = 1
        let n = input.count
        var i = 0
        while i < n {
            let byte = input[i]
            i += 1
            if byte == 0 {
                output[codeIndex] = code
                codeIndex = output.count
                output.append(0)
                code = 1
            } else {
                output.append(byte)
                code += 1
                // A full block: close it, and open another only if input remains.
                if code == 0xFF {
                    output[codeIndex] = code
                    code = 1
                    if i < n {
                        codeIndex = output.count
                        output.append(0)
                    } else {
                        return
                    }
                }
            }
        }
        output[codeIndex] = code
    }

    /// The encoding of `input`.
    public static func encode(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
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
            i += 1
            while i < end {
                let byte = input[i]
                if byte == 0 { return false }
                output.append(byte)
                i += 1
            }
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
