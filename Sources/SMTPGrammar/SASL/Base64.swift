extension SASL {
    /// Standard, padded base64 (RFC 4648 section 4), decoded strictly as RFC 4954 section 4
    /// requires: any character outside the alphabet (whitespace included), padding anywhere but
    /// at the end, a length that is not a multiple of 4, and non-zero padding bits
    /// (RFC 4648 section 3.5) are all refused.
    ///
    /// ```
    /// base64          = base64-terminal / ( 1*(4base64-char) [base64-terminal] )
    /// base64-char     = ALPHA / DIGIT / "+" / "/"
    /// base64-terminal = (2base64-char "==") / (3base64-char "=")
    /// ```
    public enum Base64 {
        private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        private static let values: [Int8] = {
            var table = [Int8](repeating: -1, count: 256)
            for (value, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(value) }
            return table
        }()

        public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
            let input = Array(bytes)
            var out: [UInt8] = []
            out.reserveCapacity((input.count + 2) / 3 * 4)
            var index = 0
            while index < input.count {
                let remaining = input.count - index
                let b0 = input[index]
                let b1 = remaining > 1 ? input[index + 1] : 0
                let b2 = remaining > 2 ? input[index + 2] : 0
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
                out.append(remaining > 1 ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
                out.append(remaining > 2 ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
                index += 3
            }
            return String(decoding: out, as: UTF8.self)
        }

        /// The decoded bytes, or nil when the input is not strict base64. Empty input decodes
        /// to no bytes.
        public static func decode<Bytes: Collection>(_ bytes: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
            let input = Array(bytes)
            guard input.count % 4 == 0 else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(input.count / 4 * 3)
            var index = 0
            while index < input.count {
                var quantum: [UInt8] = [0, 0, 0, 0]
                var padding = 0
                for offset in 0..<4 {
                    let byte = input[index + offset]
                    if byte == UInt8(ascii: "=") {
                        // Only the last one or two characters of the input may be padding.
                        guard index + 4 == input.count, offset >= 2 else { return nil }
                        padding += 1
                    } else {
                        guard padding == 0 else { return nil }
                        let value = values[Int(byte)]
                        guard value >= 0 else { return nil }
                        quantum[offset] = UInt8(value)
                    }
                }
                // Bits that padding discards must be zero, or two encodings mean the same bytes.
                if padding == 2, quantum[1] & 0x0F != 0 { return nil }
                if padding == 1, quantum[2] & 0x03 != 0 { return nil }
                out.append(quantum[0] << 2 | quantum[1] >> 4)
                if padding < 2 { out.append(quantum[1] << 4 | quantum[2] >> 2) }
                if padding < 1 { out.append(quantum[2] << 6 | quantum[3]) }
                index += 4
            }
            return out
        }

        public static func decode(_ text: String) -> [UInt8]? {
            decode(text.utf8)
        }
    }
}
