/// The modified UTF-7 encoding of mailbox names (RFC 3501 section 5.1.3).
///
/// Printable US-ASCII except `&` stands for itself; `&` is written `&-`; every other run of
/// characters is UTF-16BE, base64 encoded with `,` instead of `/`, without padding, between `&`
/// and `-`. Example: `~peter/mail/台北/日本語` is `~peter/mail/&U,BTFw-/&ZeVnLIqe-`.
public enum ModifiedUTF7 {
    public struct DecodingError: Error, Hashable, Sendable {
        public var message: String
    }

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    private static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(index) }
        return table
    }()

    /// Encodes a Unicode mailbox name.
    public static func encode(_ name: String) -> String {
        var out: [UInt8] = []
        var pending: [UInt16] = []

        func flush() {
            guard !pending.isEmpty else { return }
            out.append(UInt8(ascii: "&"))
            var bytes: [UInt8] = []
            for unit in pending { bytes.append(UInt8(unit >> 8)); bytes.append(UInt8(unit & 0xFF)) }
            var index = 0
            while index < bytes.count {
                let b0 = bytes[index]
                let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
                let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
                let remaining = bytes.count - index
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
                if remaining > 1 { out.append(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]) }
                if remaining > 2 { out.append(alphabet[Int(b2 & 0x3F)]) }
                index += 3
            }
            out.append(UInt8(ascii: "-"))
            pending.removeAll()
        }

        for scalar in name.unicodeScalars {
            let value = scalar.value
            if value >= 0x20 && value <= 0x7E {
                flush()
                out.append(UInt8(value))
                if value == UInt32(UInt8(ascii: "&")) { out.append(UInt8(ascii: "-")) }
            } else {
                pending.append(contentsOf: Array(String(scalar).utf16))
            }
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a modified UTF-7 name, strictly: 8-bit bytes, controls, unterminated shifts,
    /// printable ASCII inside a shift, non-zero padding bits and broken surrogates are errors.
    public static func decode(_ wire: String) throws(DecodingError) -> String {
        let bytes = Array(wire.utf8)
        var result = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte >= 0x20 && byte <= 0x7E else {
                throw DecodingError(message: "byte \(byte) is not printable US-ASCII")
            }
            if byte != UInt8(ascii: "&") {
                result.append(Unicode.Scalar(byte))
                index += 1
                continue
            }
            index += 1
            guard let end = bytes[index...].firstIndex(of: UInt8(ascii: "-")) else {
                throw DecodingError(message: "unterminated '&' shift")
            }
            if end == index {
                result.append("&")
                index = end + 1
                continue
            }
            // Decode the base64 run into UTF-16 code units.
            var bits: UInt32 = 0
            var bitCount = 0
            var units: [UInt16] = []
            for b in bytes[index..<end] {
                let value = reverse[Int(b)]
                guard value >= 0 else { throw DecodingError(message: "invalid modified base64 character") }
                bits = (bits << 6) | UInt32(value)
                bitCount += 6
                if bitCount >= 16 {
                    bitCount -= 16
                    units.append(UInt16(truncatingIfNeeded: bits >> UInt32(bitCount)))
                    bits &= (1 << UInt32(bitCount)) - 1
                }
            }
            guard bitCount < 6, bits == 0, !units.isEmpty else {
                throw DecodingError(message: "invalid modified base64 padding")
            }
            var decoded = String.UnicodeScalarView()
            var iterator = units.makeIterator()
            var utf16 = UTF16()
            loop: while true {
                switch utf16.decode(&iterator) {
                case .scalarValue(let scalar):
                    guard scalar.value < 0x20 || scalar.value > 0x7E else {
                        throw DecodingError(message: "printable US-ASCII must not be base64 encoded")
                    }
                    decoded.append(scalar)
                case .emptyInput: break loop
                case .error: throw DecodingError(message: "invalid UTF-16 in shift")
                }
            }
            result.append(contentsOf: decoded)
            index = end + 1
            // RFC 3501: "&...-&...-" (two adjacent shifts) is not the shortest form.
            if index < bytes.count, bytes[index] == UInt8(ascii: "&"), index + 1 < bytes.count, bytes[index + 1] != UInt8(ascii: "-") {
                throw DecodingError(message: "adjacent base64 shifts")
            }
        }
        return String(result)
    }
}
