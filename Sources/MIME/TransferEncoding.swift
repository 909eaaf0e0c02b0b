/// Content-Transfer-Encoding (RFC 2045 section 6): lenient decoders and strict encoders.
public enum TransferEncoding {
    static let base64Alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    /// 255 marks a byte outside the alphabet; URL-safe `-` and `_` are accepted when decoding.
    static let base64Values: [UInt8] = {
        var table = [UInt8](repeating: 255, count: 256)
        for (value, byte) in base64Alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// RFC 2045 6.8: characters outside the alphabet are ignored; padding may be missing;
    /// a trailing group of two or three characters still yields its bytes.
    public static func decodeBase64<Bytes: Collection>(_ input: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3 + 3)
        var accumulator: UInt32 = 0
        var count = 0
        let table = base64Values
        table.withUnsafeBufferPointer { values in
            for byte in input {
                let value = values[Int(byte)]
                if value == 255 { continue }
                accumulator = accumulator << 6 | UInt32(value)
                count += 1
                if count == 4 {
                    output.append(UInt8(truncatingIfNeeded: accumulator >> 16))
                    output.append(UInt8(truncatingIfNeeded: accumulator >> 8))
                    output.append(UInt8(truncatingIfNeeded: accumulator))
                    accumulator = 0
                    count = 0
                }
            }
        }
        if count == 2 {
            output.append(UInt8(truncatingIfNeeded: accumulator >> 4))
        } else if count == 3 {
            output.append(UInt8(truncatingIfNeeded: accumulator >> 10))
            output.append(UInt8(truncatingIfNeeded: accumulator >> 2))
        }
        return output
    }

    /// The decoded length of base64 text without decoding it.
    public static func decodedBase64Length<Bytes: Collection>(_ input: Bytes) -> Int where Bytes.Element == UInt8 {
        let table = base64Values
        var count = 0
        for byte in input where table[Int(byte)] != 255 { count += 1 }
        return count / 4 * 3 + (count % 4 == 3 ? 2 : count % 4 == 2 ? 1 : 0)
    }

    // quoted-printable := qp-line *(CRLF qp-line)      ; RFC 2045 6.7
    // qp-segment := qp-section *(SPACE / TAB) "="       ; a soft line break
    /// Lenient: `=` not followed by two hex digits or a line break is kept as written; lowercase
    /// hex is accepted; whitespace before a line break is dropped (rule 3).
    public static func decodeQuotedPrintable<Bytes: Collection>(_ input: Bytes, isHeader: Bool = false) -> [UInt8]
    where Bytes.Element == UInt8, Bytes.Index == Int {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = input.startIndex
        let end = input.endIndex
        while index < end {
            let byte = input[index]
            if byte == ASCII.equals {
                let next = index + 1
                if next < end, input[next] == ASCII.lineFeed { index = next + 1; continue }
                if next + 1 < end, input[next] == ASCII.carriageReturn, input[next + 1] == ASCII.lineFeed {
                    index = next + 2; continue
                }
                if next == end || (next + 1 == end && input[next] == ASCII.carriageReturn) { index = end; continue }
                if next + 1 < end, let high = ASCII.hexValue(input[next]), let low = ASCII.hexValue(input[next + 1]) {
                    output.append(high << 4 | low)
                    index = next + 2
                    continue
                }
                // "=" followed by whitespace and then a line break is a soft break with padding.
                var probe = next
                while probe < end, ASCII.isWhitespace(input[probe]) { probe += 1 }
                if probe > next, probe == end || input[probe] == ASCII.lineFeed || input[probe] == ASCII.carriageReturn {
                    index = probe
                    if index < end, input[index] == ASCII.carriageReturn { index += 1 }
                    if index < end, input[index] == ASCII.lineFeed { index += 1 }
                    continue
                }
                output.append(byte)
                index = next
                continue
            }
            if isHeader && byte == ASCII.underscore {
                output.append(ASCII.space)
                index += 1
                continue
            }
            if !isHeader && ASCII.isWhitespace(byte) {
                // Trailing whitespace on a line is transport padding (rule 3): drop it.
                var probe = index
                while probe < end, ASCII.isWhitespace(input[probe]) { probe += 1 }
                if probe == end || input[probe] == ASCII.lineFeed
                    || (input[probe] == ASCII.carriageReturn && probe + 1 < end && input[probe + 1] == ASCII.lineFeed) {
                    index = probe
                    continue
                }
                output.append(contentsOf: input[index..<probe])
                index = probe
                continue
            }
            output.append(byte)
            index += 1
        }
        return output
    }

    /// Base64 in lines of 76 characters joined by CRLF (RFC 2045 6.8).
    public static func encodeBase64<Bytes: Collection>(_ input: Bytes, lineLength: Int? = 76) -> [UInt8]
    where Bytes.Element == UInt8 {
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4 + (input.count / 57 + 1) * 2)
        let alphabet = base64Alphabet
        var lineUsed = 0
        var iterator = input.makeIterator()
        func emit(_ byte: UInt8) {
            if let lineLength, lineUsed == lineLength {
                output.append(ASCII.carriageReturn); output.append(ASCII.lineFeed)
                lineUsed = 0
            }
            output.append(byte)
            lineUsed += 1
        }
        while let first = iterator.next() {
            let second = iterator.next(), third = iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            emit(alphabet[Int(group >> 18 & 63)])
            emit(alphabet[Int(group >> 12 & 63)])
            emit(second == nil ? ASCII.equals : alphabet[Int(group >> 6 & 63)])
            emit(third == nil ? ASCII.equals : alphabet[Int(group & 63)])
            if third == nil { break }
        }
        if lineLength != nil && !output.isEmpty { output.append(ASCII.carriageReturn); output.append(ASCII.lineFeed) }
        return output
    }

    /// Quoted-printable for a body: line breaks in the input become CRLF, lines stay within 76
    /// characters through soft breaks, and trailing whitespace and `=` are escaped.
    public static func encodeQuotedPrintable(_ input: [UInt8]) -> [UInt8] {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(input.count + input.count / 8)
        var lineLength = 0
        func append(_ encoded: [UInt8]) {
            if lineLength + encoded.count > 75 {
                output.append(contentsOf: [ASCII.equals, ASCII.carriageReturn, ASCII.lineFeed])
                lineLength = 0
            }
            output.append(contentsOf: encoded)
            lineLength += encoded.count
        }
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == ASCII.lineFeed || (byte == ASCII.carriageReturn && index + 1 < input.count && input[index + 1] == ASCII.lineFeed) {
                output.append(ASCII.carriageReturn); output.append(ASCII.lineFeed)
                lineLength = 0
                index += byte == ASCII.carriageReturn ? 2 : 1
                continue
            }
            let atLineEnd = index + 1 == input.count || input[index + 1] == ASCII.lineFeed || input[index + 1] == ASCII.carriageReturn
            let isPlain = (byte >= 33 && byte <= 126 && byte != ASCII.equals) || (ASCII.isWhitespace(byte) && !atLineEnd)
            // A line starting with "." or "From " survives any transport when the first byte is encoded.
            let isRiskyLineStart = lineLength == 0 && (byte == ASCII.period || byte == UInt8(ascii: "F"))
            if isPlain && !isRiskyLineStart {
                append([byte])
            } else {
                append([ASCII.equals, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            }
            index += 1
        }
        return output
    }
}
