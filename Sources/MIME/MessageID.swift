/// Message identifiers (RFC 5322 section 3.6.4).
public enum MessageIDParser {
    // msg-id     = [CFWS] "<" id-left "@" id-right ">" [CFWS]
    // references = "References:" 1*msg-id CRLF    ; obs-references = *(phrase / msg-id)
    /// Identifiers without their angle brackets, in order. Lenient: phrases between ids (the
    /// obsolete syntax) are skipped. Words with `@` outside brackets count only with `bareWords`
    /// (a Message-ID written without them): in In-Reply-To and References such a word is an
    /// address, as old mailers wrote there, and no id (RFC 5256 threads by valid ids only).
    public static func parseList<Bytes: Collection>(_ value: Bytes, bareWords: Bool = false) -> [String] where Bytes.Element == UInt8 {
        let bytes = Array(value)
        var identifiers: [String] = []
        var index = 0
        while index < bytes.count && identifiers.count < MIMELimits.maximumMessageIDCount {
            let byte = bytes[index]
            if byte == ASCII.openParenthesis { ParameterGrammar.skipComment(bytes, &index); continue }
            if byte == ASCII.doubleQuote { _ = ParameterGrammar.quotedString(bytes, &index); continue }
            if byte == ASCII.lessThan {
                let start = index + 1
                var end = start
                while end < bytes.count, bytes[end] != ASCII.greaterThan, bytes[end] != ASCII.lessThan { end += 1 }
                // obs-id-left / obs-id-right allow CFWS: drop whitespace and comments. Quoting is
                // dropped too, so `<"a1"@x>` and `<a1@x>` are one id (RFC 5256 section 3).
                var identifier: [UInt8] = []
                var position = start
                while position < end {
                    if bytes[position] == ASCII.openParenthesis {
                        var probe = position
                        ParameterGrammar.skipComment(bytes, &probe)
                        position = min(probe, end)
                        continue
                    }
                    if bytes[position] == ASCII.backslash, position + 1 < end {
                        identifier.append(bytes[position + 1])
                        position += 2
                        continue
                    }
                    if !ASCII.isWhitespaceOrNewline(bytes[position]), bytes[position] != ASCII.doubleQuote {
                        identifier.append(bytes[position])
                    }
                    position += 1
                }
                if !identifier.isEmpty { identifiers.append(textFromHeaderBytes(identifier)) }
                index = end < bytes.count && bytes[end] == ASCII.greaterThan ? end + 1 : end
                continue
            }
            index += 1
        }
        if identifiers.isEmpty, bareWords {
            var wordStart: Int? = nil
            for position in 0...bytes.count {
                let isSeparator = position == bytes.count || ASCII.isWhitespaceOrNewline(bytes[position]) || bytes[position] == ASCII.comma
                if isSeparator {
                    if let start = wordStart, bytes[start..<position].contains(ASCII.at),
                       identifiers.count < MIMELimits.maximumMessageIDCount {
                        identifiers.append(textFromHeaderBytes(bytes[start..<position]))
                    }
                    wordStart = nil
                } else if wordStart == nil {
                    wordStart = position
                }
            }
        }
        return identifiers
    }

    /// The first identifier, for Message-ID itself.
    public static func parse<Bytes: Collection>(_ value: Bytes) -> String? where Bytes.Element == UInt8 {
        parseList(value, bareWords: true).first
    }
}
