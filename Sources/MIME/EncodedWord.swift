/// RFC 2047 encoded words in header text.
public enum EncodedWord {
    // encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
    // charset      = token    ; RFC 2231 section 5 adds  charset ["*" language]
    // encoding     = "B" / "Q"
    /// Decodes every encoded word in `value`. Whitespace between two adjacent encoded words is
    /// dropped (RFC 2047 section 6.2); adjacent words in one charset are joined before
    /// conversion, so a multibyte character split across words survives. Words that are not
    /// well formed stay as written.
    public static func decode<Bytes: Collection>(_ value: Bytes) -> String where Bytes.Element == UInt8 {
        let bytes = Array(value)
        guard bytes.firstIndex(of: [ASCII.equals, ASCII.questionMark], in: 0..<bytes.count) != nil else {
            return textFromHeaderBytes(bytes)
        }
        var result = ""
        var literalStart = 0
        var pendingCharset: String? = nil
        var pendingBytes: [UInt8] = []
        var index = 0
        var decodedWords = 0

        func flushPending() {
            if let charset = pendingCharset {
                result += Charset.decode(pendingBytes, charset: charset).text
            }
            pendingCharset = nil
            pendingBytes.removeAll(keepingCapacity: true)
        }

        while index + 1 < bytes.count {
            guard bytes[index] == ASCII.equals, bytes[index + 1] == ASCII.questionMark,
                  decodedWords < MIMELimits.maximumEncodedWordCount else {
                index += 1
                continue
            }
            let word: ParsedWord
            switch parseWord(bytes, at: index) {
            case .word(let parsed):
                word = parsed
            case .notAWord(let resumeAt):
                index = max(index + 1, resumeAt)
                continue
            }
            decodedWords += 1
            let literal = bytes[literalStart..<index]
            if pendingCharset != nil && literal.allSatisfy(ASCII.isWhitespace) {
                // Whitespace between adjacent encoded words is not displayed (section 6.2).
            } else {
                flushPending()
                result += textFromHeaderBytes(literal)
            }
            if let current = pendingCharset, !ASCII.equalsIgnoringCase(current, word.charset) { flushPending() }
            pendingCharset = word.charset
            pendingBytes.append(contentsOf: word.decoded)
            index = word.end
            literalStart = index
        }
        flushPending()
        if literalStart < bytes.count { result += textFromHeaderBytes(bytes[literalStart...]) }
        return result
    }

    struct ParsedWord {
        var charset: String
        var decoded: [UInt8]
        var end: Int
    }

    enum WordScan {
        case word(ParsedWord)
        /// Not a word; no word can start before `resumeAt` either. Skipping there keeps decoding
        /// linear: a run like `=?a?b?x=?a?b?x...` would otherwise be rescanned from every `=?`.
        case notAWord(resumeAt: Int)
    }

    static func parseWord(_ bytes: [UInt8], at start: Int) -> WordScan {
        var index = start + 2
        let charsetStart = index
        while index < bytes.count, bytes[index] != ASCII.questionMark {
            if bytes[index] <= ASCII.space || bytes[index] >= 0x7F { return .notAWord(resumeAt: start + 1) }
            index += 1
        }
        guard index > charsetStart, index + 2 < bytes.count, bytes[index + 2] == ASCII.questionMark else {
            return .notAWord(resumeAt: start + 1)
        }
        let charset = String(decoding: bytes[charsetStart..<index], as: UTF8.self)
        let encoding = ASCII.lowercased(bytes[index + 1])
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return .notAWord(resumeAt: start + 1) }
        let textStart = index + 3
        var textEnd = textStart
        while textEnd + 1 < bytes.count, !(bytes[textEnd] == ASCII.questionMark && bytes[textEnd + 1] == ASCII.equals) {
            // Encoded text holds no whitespace (RFC 2047 section 5); stop, the word is malformed.
            // Any word starting before this space would end here too, unterminated.
            if ASCII.isWhitespace(bytes[textEnd]) { return .notAWord(resumeAt: textEnd) }
            textEnd += 1
        }
        guard textEnd + 1 < bytes.count else { return .notAWord(resumeAt: bytes.count) }
        let text = bytes[textStart..<textEnd]
        let decoded = encoding == UInt8(ascii: "b")
            ? TransferEncoding.decodeBase64(text)
            : TransferEncoding.decodeQuotedPrintable(Array(text), isHeader: true)
        return .word(ParsedWord(charset: charset, decoded: decoded, end: textEnd + 2))
    }

    /// Whether `text` can go into a header as written: printable ASCII and no `=?`.
    static func needsEncoding(_ text: String) -> Bool {
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte >= 0x7F || (byte < ASCII.space && byte != ASCII.tab) { return true }
            if previous == ASCII.equals && byte == ASCII.questionMark { return true }
            previous = byte
        }
        return false
    }

    /// Encodes `text` as UTF-8 B words of at most 75 characters each (RFC 2047 section 2),
    /// never splitting a character across words. Returns the words; the caller folds between them.
    public static func encode(_ text: String) -> [String] {
        let maximumInputBytes = 45  // 45 octets -> 60 base64 characters + 12 of "=?UTF-8?B?" "?="
        var words: [String] = []
        var chunk: [UInt8] = []
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append("=?UTF-8?B?" + String(decoding: TransferEncoding.encodeBase64(chunk, lineLength: nil), as: UTF8.self) + "?=")
            chunk.removeAll()
        }
        for scalar in text.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if chunk.count + encoded.count > maximumInputBytes { flush() }
            chunk.append(contentsOf: encoded)
        }
        flush()
        return words
    }
}
