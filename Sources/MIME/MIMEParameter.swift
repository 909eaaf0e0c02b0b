/// One parameter of Content-Type or Content-Disposition, continuations merged (RFC 2231).
public struct MIMEParameter: Sendable, Hashable {
    /// The attribute, lowercased, without RFC 2231 `*n` / `*` markers.
    public var name: String
    /// The value for people: RFC 2231 charset and percent decoding applied, and RFC 2047 words
    /// decoded when a sender put them in a plain value (as many do for file names).
    public var value: String
    /// The attribute as IMAP BODYSTRUCTURE shows it: `name` or, when extended, `name*`.
    public var wireName: String
    /// The value as IMAP BODYSTRUCTURE shows it: continuations joined, `charset'lang'%XX` kept.
    public var wireValue: String

    public init(name: String, value: String) {
        self.name = ASCII.lowercase(name)
        self.value = value
        self.wireName = self.name
        self.wireValue = value
    }

    init(name: String, value: String, wireName: String, wireValue: String) {
        self.name = name
        self.value = value
        self.wireName = wireName
        self.wireValue = wireValue
    }
}

extension Array where Element == MIMEParameter {
    /// The value of the parameter `name` (case-insensitive), the first one when repeated.
    public func value(of name: String) -> String? {
        first { ASCII.equalsIgnoringCase($0.name, name) }?.value
    }
}

/// The grammar shared by Content-Type and Content-Disposition values.
enum ParameterGrammar {
    /// One `attribute=value` as written, before RFC 2231 merging.
    struct RawParameter {
        var attribute: String
        var value: [UInt8]
        var wasQuoted: Bool
    }

    // tspecials := "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / "\" / <"> / "/" / "[" / "]" / "?" / "="
    static func isTokenSpecial(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x28, 0x29, 0x3C, 0x3E, 0x40, 0x2C, 0x3B, 0x3A, 0x5C, 0x22, 0x2F, 0x5B, 0x5D, 0x3F, 0x3D: return true
        default: return byte <= ASCII.space || byte == 0x7F
        }
    }

    // CFWS = (1*([FWS] comment) [FWS]) / FWS ; comment = "(" *([FWS] ccontent) [FWS] ")"
    static func skipWhitespaceAndComments(_ bytes: [UInt8], _ index: inout Int) {
        while index < bytes.count {
            let byte = bytes[index]
            if ASCII.isWhitespaceOrNewline(byte) { index += 1; continue }
            if byte == ASCII.openParenthesis { skipComment(bytes, &index); continue }
            return
        }
    }

    /// Skips a (nested) comment starting at `(`; an unclosed comment runs to the end.
    static func skipComment(_ bytes: [UInt8], _ index: inout Int) {
        var depth = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == ASCII.backslash { index += 2; continue }
            if byte == ASCII.openParenthesis { depth += 1 }
            if byte == ASCII.closeParenthesis { depth -= 1; if depth == 0 { index += 1; return } }
            index += 1
        }
        index = bytes.count
    }

    // token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
    /// Lenient: 8-bit bytes are taken as token bytes.
    static func token(_ bytes: [UInt8], _ index: inout Int) -> ArraySlice<UInt8> {
        let start = index
        while index < bytes.count, !isTokenSpecial(bytes[index]) || bytes[index] >= 0x80 { index += 1 }
        return bytes[start..<index]
    }

    // quoted-string = [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE [CFWS]
    // quoted-pair   = ("\" (VCHAR / WSP))
    /// Expects `index` at the opening quote; an unclosed string runs to the end.
    static func quotedString(_ bytes: [UInt8], _ index: inout Int) -> [UInt8] {
        var result: [UInt8] = []
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == ASCII.doubleQuote { index += 1; return result }
            if byte == ASCII.backslash, index + 1 < bytes.count {
                result.append(bytes[index + 1])
                index += 2
                continue
            }
            if byte != ASCII.carriageReturn && byte != ASCII.lineFeed { result.append(byte) }
            index += 1
        }
        return result
    }

    // parameter := attribute "=" value     ; RFC 2045 section 5.1
    // value     := token / quoted-string
    /// Parses `*(";" parameter)` from `index`. Lenient about what real mail does: missing
    /// semicolons, unquoted values holding spaces (read up to the next `;`), stray semicolons.
    static func parameters(_ bytes: [UInt8], from start: Int) -> [RawParameter] {
        var result: [RawParameter] = []
        var index = start
        while index < bytes.count {
            skipWhitespaceAndComments(bytes, &index)
            while index < bytes.count, bytes[index] == ASCII.semicolon || ASCII.isWhitespaceOrNewline(bytes[index]) {
                index += 1
            }
            guard index < bytes.count else { break }
            let attributeStart = index
            while index < bytes.count, bytes[index] != ASCII.equals, bytes[index] != ASCII.semicolon {
                index += 1
            }
            var attributeEnd = index
            while attributeEnd > attributeStart, ASCII.isWhitespaceOrNewline(bytes[attributeEnd - 1]) { attributeEnd -= 1 }
            let attribute = String(decoding: bytes[attributeStart..<attributeEnd], as: UTF8.self)
            guard index < bytes.count, bytes[index] == ASCII.equals else { continue }
            index += 1
            while index < bytes.count, ASCII.isWhitespaceOrNewline(bytes[index]) { index += 1 }
            if index < bytes.count, bytes[index] == ASCII.doubleQuote {
                let value = quotedString(bytes, &index)
                // Text after the closing quote up to ";" is junk some senders add; skip it.
                while index < bytes.count, bytes[index] != ASCII.semicolon { index += 1 }
                if !attribute.isEmpty { result.append(RawParameter(attribute: attribute, value: value, wasQuoted: true)) }
            } else {
                let valueStart = index
                while index < bytes.count, bytes[index] != ASCII.semicolon {
                    if bytes[index] == ASCII.openParenthesis { break }
                    index += 1
                }
                var valueEnd = index
                while valueEnd > valueStart, ASCII.isWhitespaceOrNewline(bytes[valueEnd - 1]) { valueEnd -= 1 }
                if index < bytes.count, bytes[index] == ASCII.openParenthesis { skipComment(bytes, &index) }
                if !attribute.isEmpty {
                    result.append(RawParameter(attribute: attribute, value: Array(bytes[valueStart..<valueEnd]), wasQuoted: false))
                }
            }
            if result.count >= MIMELimits.maximumHeaderFieldCount { break }
        }
        return result
    }

    // RFC 2231 section 3, 4:
    // parameter := regular-parameter / extended-parameter
    // regular-parameter-name := attribute [section] ; section := "*" 1*DIGIT
    // extended-initial-value := [charset] "'" [language] "'" extended-other-values
    /// Merges continuations (`name*0`, `name*1*`...) in section order and decodes charsets.
    static func merge(_ raw: [RawParameter]) -> [MIMEParameter] {
        // Fast path, the common case: no RFC 2231 markers, no repeated names.
        if !raw.contains(where: { $0.attribute.utf8.contains(UInt8(ascii: "*")) }) {
            var result: [MIMEParameter] = []
            result.reserveCapacity(raw.count)
            for parameter in raw {
                let name = ASCII.lowercase(parameter.attribute)
                if result.contains(where: { $0.name == name }) { continue }
                let hasEncodedWord = parameter.value.firstIndex(of: [ASCII.equals, ASCII.questionMark],
                                                                in: 0..<parameter.value.count) != nil
                result.append(MIMEParameter(name: name,
                                            value: hasEncodedWord ? EncodedWord.decode(parameter.value) : textFromHeaderBytes(parameter.value),
                                            wireName: parameter.attribute, wireValue: wireTextFromHeaderBytes(parameter.value)))
            }
            return result
        }
        struct Segment { var section: Int; var extended: Bool; var value: [UInt8] }
        var order: [String] = []
        var segments: [String: [Segment]] = [:]
        var plain: [String: MIMEParameter] = [:]
        for parameter in raw {
            var attribute = ASCII.lowercase(parameter.attribute)
            var extended = false
            // RFC 2231 says extended values are tokens, but senders also quote them (corpus
            // msg_33 quotes its boundary): read `name*` as extended either way.
            if attribute.hasSuffix("*") {
                extended = true
                attribute.removeLast()
            }
            var section: Int? = nil
            if let star = attribute.lastIndex(of: "*"), let number = Int(attribute[attribute.index(after: star)...]),
               number >= 0 {
                section = number
                attribute = String(attribute[..<star])
            }
            if attribute.isEmpty { continue }
            if section == nil && !extended {
                if plain[attribute] == nil && segments[attribute] == nil {
                    plain[attribute] = MIMEParameter(name: attribute, value: EncodedWord.decode(parameter.value),
                                                     wireName: parameter.attribute, wireValue: wireTextFromHeaderBytes(parameter.value))
                    order.append(attribute)
                }
                continue
            }
            if segments[attribute] == nil {
                if plain[attribute] != nil { plain[attribute] = nil } else { order.append(attribute) }
                segments[attribute] = []
            }
            segments[attribute]!.append(Segment(section: section ?? 0, extended: extended, value: parameter.value))
        }
        var result: [MIMEParameter] = []
        for attribute in order {
            if let parameter = plain[attribute] { result.append(parameter); continue }
            guard var parts = segments[attribute] else { continue }
            parts.sort { $0.section < $1.section }
            var charset: String? = nil
            var prefix: [UInt8] = []
            var decodedBytes: [UInt8] = []
            var wireBytes: [UInt8] = []
            let anyExtended = parts.contains { $0.extended }
            for (position, part) in parts.enumerated() {
                var value = part.value[...]
                if part.extended && position == 0,
                   let firstQuote = value.firstIndex(of: UInt8(ascii: "'")),
                   let secondQuote = value[(firstQuote + 1)...].firstIndex(of: UInt8(ascii: "'")) {
                    charset = String(decoding: value[..<firstQuote], as: UTF8.self)
                    prefix = Array(value[...secondQuote])
                    value = value[(secondQuote + 1)...]
                }
                if part.extended {
                    decodedBytes.append(contentsOf: percentDecode(value))
                    wireBytes.append(contentsOf: value)
                } else {
                    decodedBytes.append(contentsOf: value)
                    wireBytes.append(contentsOf: anyExtended ? percentEncode(value) : Array(value))
                }
            }
            let decoded = anyExtended ? Charset.decode(decodedBytes, charset: charset?.isEmpty == false ? charset : "us-ascii").text
                                      : EncodedWord.decode(decodedBytes)
            result.append(MIMEParameter(name: attribute, value: decoded,
                                        wireName: anyExtended ? attribute + "*" : attribute,
                                        wireValue: wireTextFromHeaderBytes(anyExtended ? prefix + wireBytes : wireBytes)))
        }
        return result
    }

    static func percentDecode(_ value: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(value.count)
        var index = value.startIndex
        while index < value.endIndex {
            if value[index] == UInt8(ascii: "%"), index + 2 < value.endIndex,
               let high = ASCII.hexValue(value[index + 1]), let low = ASCII.hexValue(value[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(value[index])
                index += 1
            }
        }
        return output
    }

    /// RFC 2231 `attribute-char`s pass; everything else becomes `%XX`.
    static func percentEncode<Bytes: Collection>(_ value: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        for byte in value {
            if byte > ASCII.space && byte < 0x7F && !isTokenSpecial(byte) && byte != UInt8(ascii: "*")
                && byte != UInt8(ascii: "'") && byte != UInt8(ascii: "%") {
                output.append(byte)
            } else {
                output.append(UInt8(ascii: "%")); output.append(hex[Int(byte >> 4)]); output.append(hex[Int(byte & 15)])
            }
        }
        return output
    }
}
