#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Text in some charset turned into a Swift string.
public struct DecodedText: Sendable, Hashable {
    public var text: String
    /// False when the charset was unknown to us and to iconv: `text` then holds the bytes read
    /// as UTF-8 when valid, else as Latin-1, so nothing is lost and the caller can say so.
    public var charsetRecognized: Bool
}

/// Charset conversion to UTF-8 (RFC 2045 charset parameter, RFC 2047 and 2231 charsets).
///
/// UTF-8, US-ASCII and ISO-8859-1 are converted here; every other charset goes through the C
/// library's iconv, so whatever iconv knows (the whole of glibc's gconv set) is supported.
public enum Charset {
    /// Names mail software writes that iconv spells differently.
    static let aliases: [String: String] = [
        "ks_c_5601-1987": "CP949", "ks_c_5601": "CP949", "x-sjis": "SHIFT_JIS", "shift-jis": "SHIFT_JIS",
        "gb2312": "GB18030", "gbk": "GB18030", "x-gbk": "GB18030", "iso-8859-8-i": "ISO-8859-8",
        "windows-874": "CP874", "unicode-1-1-utf-7": "UTF-7", "utf7": "UTF-7", "x-mac-roman": "MACINTOSH",
        "macintosh": "MACINTOSH", "x-euc-jp": "EUC-JP", "cp-850": "CP850", "ansi_x3.4-1968": "ASCII",
        "x-user-defined": "ISO-8859-1",
    ]

    /// Lowercased, unquoted, without an RFC 2231 `*language` suffix.
    static func normalizedName(_ charset: String) -> String {
        var name = ASCII.lowercase(charset)
        if let star = name.firstIndex(of: "*") { name = String(name[..<star]) }
        return String(name.filter { $0 != "\"" && $0 != " " && $0 != "\t" })
    }

    public static func decode<Bytes: Collection>(_ bytes: Bytes, charset: String?) -> DecodedText
    where Bytes.Element == UInt8 {
        let name = normalizedName(charset ?? "us-ascii")
        switch name {
        case "utf-8", "utf8":
            // Declared UTF-8: a stray invalid byte becomes U+FFFD, the rest stays readable.
            return DecodedText(text: String(decoding: bytes, as: UTF8.self), charsetRecognized: true)
        case "", "us-ascii", "ascii", "us_ascii", "7bit", "8bit":
            // US-ASCII text with 8-bit bytes is in practice UTF-8 or Latin-1; read it that way.
            return DecodedText(text: textFromHeaderBytes(bytes), charsetRecognized: true)
        case "iso-8859-1", "iso8859-1", "latin1", "iso_8859-1", "l1":
            return DecodedText(text: String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })),
                               charsetRecognized: true)
        default:
            if bytes.allSatisfy({ $0 < 0x80 }) && !name.hasPrefix("utf-16") && !name.hasPrefix("utf-32")
                && !name.hasPrefix("utf-7") && !name.hasPrefix("ucs") && !name.contains("2022")
                && !name.hasPrefix("hz") {
                // Every other charset mail uses is an ASCII superset: no conversion needed.
                return DecodedText(text: String(decoding: bytes, as: UTF8.self),
                                   charsetRecognized: isKnownToIconv(name))
            }
            if let converted = convertWithIconv(Array(bytes), from: aliases[name] ?? name) {
                return DecodedText(text: converted, charsetRecognized: true)
            }
            return DecodedText(text: textFromHeaderBytes(bytes), charsetRecognized: false)
        }
    }

    static func isKnownToIconv(_ name: String) -> Bool {
        let descriptor = iconv_open("UTF-8", aliases[name] ?? name)
        if Int(bitPattern: descriptor) == -1 { return false }
        iconv_close(descriptor)
        return true
    }

    /// Converts with iconv; an invalid sequence becomes U+FFFD and conversion goes on.
    static func convertWithIconv(_ input: [UInt8], from charset: String) -> String? {
        let descriptor = iconv_open("UTF-8", charset)
        if Int(bitPattern: descriptor) == -1 { return nil }
        defer { iconv_close(descriptor) }
        var output = [UInt8](repeating: 0, count: input.count * 4 + 16)
        var outputUsed = 0
        var inputCopy = input
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
        inputCopy.withUnsafeMutableBufferPointer { inputBuffer in
            guard let inputBase = inputBuffer.baseAddress else { return }
            var inputOffset = 0
            while inputOffset < inputBuffer.count {
                if output.count - outputUsed < 64 { output.append(contentsOf: repeatElement(0, count: output.count)) }
                var inputLeft = inputBuffer.count - inputOffset
                var outputLeft = output.count - outputUsed
                let (result, savedErrno, consumed, produced): (Int, Int32, Int, Int) = output.withUnsafeMutableBufferPointer { outputBuffer in
                    var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inputBase + inputOffset)
                        .assumingMemoryBound(to: CChar.self)
                    var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outputBuffer.baseAddress! + outputUsed)
                        .assumingMemoryBound(to: CChar.self)
                    let before = (inputLeft, outputLeft)
                    let result = iconv(descriptor, &inPointer, &inputLeft, &outPointer, &outputLeft)
                    return (result, errno, before.0 - inputLeft, before.1 - outputLeft)
                }
                inputOffset += consumed
                outputUsed += produced
                if result != -1 { break }
                switch savedErrno {
                case E2BIG:
                    output.append(contentsOf: repeatElement(0, count: output.count))
                case EILSEQ:
                    if output.count - outputUsed < 3 { output.append(contentsOf: repeatElement(0, count: 16)) }
                    output.replaceSubrange(outputUsed..<outputUsed + 3, with: replacement)
                    outputUsed += 3
                    inputOffset += 1
                default:
                    // EINVAL: an incomplete sequence at the end of the input.
                    if output.count - outputUsed < 3 { output.append(contentsOf: repeatElement(0, count: 16)) }
                    output.replaceSubrange(outputUsed..<outputUsed + 3, with: replacement)
                    outputUsed += 3
                    inputOffset = inputBuffer.count
                }
            }
        }
        return String(decoding: output[0..<outputUsed], as: UTF8.self)
    }
}
