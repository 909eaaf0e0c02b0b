/// Builds RFC 5322 / MIME messages for sending.
///
/// ```swift
/// var builder = MessageBuilder()
/// builder.from = [Mailbox(displayName: "Zoë", address: "zoe@example.com")!]
/// builder.to = [Mailbox(address: "bob@example.org")!]
/// builder.subject = "Café at 10?"
/// builder.textBody = "See you there."
/// builder.htmlBody = "<p>See you <b>there</b>.</p>"
/// builder.prepareForSending()                       // fixes Message-ID and Date once
/// let transmitted = builder.build()                 // Bcc left out
/// let sentCopy = builder.build(includeBcc: true)    // what the Sent folder keeps
/// ```
///
/// Structure: text and HTML become multipart/alternative; inline parts (with a Content-ID) wrap
/// the body in multipart/related; other attachments wrap everything in multipart/mixed. Bodies
/// are 7bit when ASCII with short lines, else quoted-printable or base64, whichever suits the
/// content, so every line stays within 998 octets (RFC 5322 2.1.1).
public struct MessageBuilder: Sendable {
    /// A file carried by the message.
    public struct FilePart: Sendable, Hashable {
        public var filename: String?
        /// `type/subtype`, such as `image/png`.
        public var contentType: String
        public var data: [UInt8]
        /// Without angle brackets; an inline part is referenced from HTML as `cid:<contentID>`.
        public var contentID: String?
        public var isInline: Bool

        public init(filename: String?, contentType: String, data: [UInt8], contentID: String? = nil, isInline: Bool = false) {
            self.filename = filename
            self.contentType = contentType
            self.data = data
            self.contentID = contentID
            self.isInline = isInline
        }
    }

    /// A header field the caller adds as is (the value is encoded per RFC 2047 when not ASCII).
    public struct ExtraHeader: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    public var from: [Mailbox] = []
    public var sender: Mailbox?
    public var replyTo: [Mailbox] = []
    public var to: [Mailbox] = []
    public var cc: [Mailbox] = []
    public var bcc: [Mailbox] = []
    public var subject: String?
    public var date: MessageDate?
    /// Without angle brackets; generated from random bits and the From domain when nil.
    public var messageID: String?
    public var inReplyTo: [String] = []
    public var references: [String] = []
    public var extraHeaders: [ExtraHeader] = []
    public var textBody: String?
    public var htmlBody: String?
    public var attachments: [FilePart] = []

    public init() {}

    /// Fills Message-ID and Date when absent, so that every `build` produces the same ones.
    public mutating func prepareForSending() {
        if messageID == nil { messageID = Self.generateMessageID(domain: from.first?.domain) }
        if date == nil { date = .now() }
    }

    public static func generateMessageID(domain: String?) -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<2).map { _ in
            let value = generator.next() as UInt64
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
        let host = domain.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        return hex + "@" + host
    }

    /// The message as bytes with CRLF line ends. `includeBcc` keeps the Bcc field, for the copy
    /// saved in Sent; what is transmitted leaves it out (RFC 5322 3.6.3).
    public func build(includeBcc: Bool = false) -> [UInt8] {
        var copy = self
        copy.prepareForSending()
        var writer = HeaderWriter()
        writer.field("Date", unstructured: copy.date!.rfc5322, encode: false)
        if !from.isEmpty { writer.addresses("From", from) }
        if let sender { writer.addresses("Sender", [sender]) }
        if !replyTo.isEmpty { writer.addresses("Reply-To", replyTo) }
        if !to.isEmpty { writer.addresses("To", to) }
        if !cc.isEmpty { writer.addresses("Cc", cc) }
        if includeBcc && !bcc.isEmpty { writer.addresses("Bcc", bcc) }
        if let subject { writer.field("Subject", unstructured: subject, encode: true) }
        writer.field("Message-ID", words: ["<" + copy.messageID! + ">"])
        if !inReplyTo.isEmpty { writer.field("In-Reply-To", words: inReplyTo.map { "<" + $0 + ">" }) }
        if !references.isEmpty { writer.field("References", words: references.map { "<" + $0 + ">" }) }
        for header in extraHeaders { writer.field(header.name, unstructured: header.value, encode: true) }
        writer.field("MIME-Version", words: ["1.0"])
        var output = writer.output
        output.append(contentsOf: bodyEntity().serialized())
        // Lines end in CRLF, the last one included (RFC 5322 2.1, and SMTP DATA needs it).
        if output.last != ASCII.lineFeed { output.append(contentsOf: [ASCII.carriageReturn, ASCII.lineFeed]) }
        return output
    }

    // MARK: Body structure

    /// One MIME entity being assembled: its header lines (without MIME-Version) and body.
    struct Entity {
        var header: HeaderWriter
        var body: [UInt8]

        func serialized() -> [UInt8] {
            var output = header.output
            output.append(contentsOf: [ASCII.carriageReturn, ASCII.lineFeed])
            output.append(contentsOf: body)
            return output
        }
    }

    func bodyEntity() -> Entity {
        var body: Entity
        switch (textBody, htmlBody) {
        case let (text?, html?):
            body = Self.multipart("alternative", [Self.textEntity(text, subtype: "plain"), Self.textEntity(html, subtype: "html")])
        case let (text?, nil): body = Self.textEntity(text, subtype: "plain")
        case let (nil, html?): body = Self.textEntity(html, subtype: "html")
        case (nil, nil): body = Self.textEntity("", subtype: "plain")
        }
        let inlineParts = attachments.filter { $0.isInline && $0.contentID != nil }
        let fileParts = attachments.filter { !($0.isInline && $0.contentID != nil) }
        if !inlineParts.isEmpty {
            body = Self.multipart("related", [body] + inlineParts.map(Self.fileEntity))
        }
        if !fileParts.isEmpty {
            body = Self.multipart("mixed", [body] + fileParts.map(Self.fileEntity))
        }
        return body
    }

    static func multipart(_ subtype: String, _ parts: [Entity]) -> Entity {
        let boundary = "=_" + generateMessageID(domain: nil).prefix(24)
        var header = HeaderWriter()
        header.parameterized("Content-Type", value: "multipart/" + subtype, parameters: [("boundary", boundary)])
        var body: [UInt8] = []
        let delimiter = Array(("--" + boundary).utf8)
        for part in parts {
            body.append(contentsOf: delimiter)
            body.append(contentsOf: [ASCII.carriageReturn, ASCII.lineFeed])
            body.append(contentsOf: part.serialized())
            body.append(contentsOf: [ASCII.carriageReturn, ASCII.lineFeed])
        }
        body.append(contentsOf: delimiter)
        body.append(contentsOf: Array("--\r\n".utf8))
        return Entity(header: header, body: body)
    }

    static func textEntity(_ text: String, subtype: String) -> Entity {
        let normalized = normalizeLineEnds(Array(text.utf8))
        var header = HeaderWriter()
        let encoding = chooseEncoding(normalized)
        header.parameterized("Content-Type", value: "text/" + subtype,
                             parameters: [("charset", encoding == "7bit" ? "us-ascii" : "utf-8")])
        header.field("Content-Transfer-Encoding", words: [encoding])
        switch encoding {
        case "7bit":
            return Entity(header: header, body: normalized)
        case "quoted-printable":
            return Entity(header: header, body: TransferEncoding.encodeQuotedPrintable(normalized))
        default:
            return Entity(header: header, body: TransferEncoding.encodeBase64(normalized))
        }
    }

    static func fileEntity(_ file: FilePart) -> Entity {
        var header = HeaderWriter()
        var typeParameters: [(String, String)] = []
        var dispositionParameters: [(String, String)] = []
        if let name = file.filename {
            // RFC 2231 for Content-Disposition (the standard) and RFC 2047 in Content-Type name
            // for older clients that read only that (what Thunderbird and Outlook also send).
            typeParameters.append(("name", EncodedWord.needsEncoding(name) ? EncodedWord.encode(name).joined(separator: " ") : name))
            dispositionParameters.append(("filename", name))
        }
        let contentType = file.contentType.contains("/") ? file.contentType : "application/octet-stream"
        header.parameterized("Content-Type", value: contentType, parameters: typeParameters)
        header.parameterized("Content-Disposition", value: file.isInline ? "inline" : "attachment",
                             parameters: dispositionParameters)
        if let contentID = file.contentID { header.field("Content-ID", words: ["<" + contentID + ">"]) }
        header.field("Content-Transfer-Encoding", words: ["base64"])
        return Entity(header: header, body: TransferEncoding.encodeBase64(file.data))
    }

    static func normalizeLineEnds(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + bytes.count / 40)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == ASCII.carriageReturn {
                output.append(contentsOf: [ASCII.carriageReturn, ASCII.lineFeed])
                index += (index + 1 < bytes.count && bytes[index + 1] == ASCII.lineFeed) ? 2 : 1
                continue
            }
            if byte == ASCII.lineFeed { output.append(contentsOf: [ASCII.carriageReturn, ASCII.lineFeed]) }
            else { output.append(byte) }
            index += 1
        }
        return output
    }

    /// 7bit for ASCII with short lines; quoted-printable when most bytes are ASCII (it stays
    /// readable); base64 when more than a sixth are not (it is then smaller).
    static func chooseEncoding(_ bytes: [UInt8]) -> String {
        var nonASCII = 0, lineLength = 0, longestLine = 0, hasBareControl = false
        for byte in bytes {
            if byte == ASCII.lineFeed { longestLine = max(longestLine, lineLength); lineLength = 0; continue }
            lineLength += 1
            if byte >= 0x80 { nonASCII += 1 }
            if byte == 0 || (byte == ASCII.carriageReturn) { hasBareControl = hasBareControl || byte == 0 }
        }
        longestLine = max(longestLine, lineLength)
        if nonASCII == 0 && longestLine <= MIMELimits.maximumLineLength && !hasBareControl { return "7bit" }
        return nonASCII * 6 > bytes.count ? "base64" : "quoted-printable"
    }
}

/// Writes header fields folded at whitespace, lines within 78 characters where the words allow
/// and always within 998.
struct HeaderWriter {
    var output: [UInt8] = []
    static let preferredLineLength = 78

    /// Writes `name: word word ...`, folding between words.
    mutating func field(_ name: String, words rawWords: [String]) {
        // No caller-supplied text may end a header line early (header injection): line breaks
        // inside names and words are removed before anything is written.
        func withoutLineBreaks(_ text: String) -> String {
            text.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" })
                ? String(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }.map(Character.init)) : text
        }
        let name = withoutLineBreaks(name).filter { $0 != ":" && $0 != " " }
        let words = rawWords.map(withoutLineBreaks)
        var line = name + ":"
        var text = ""
        for word in words {
            if !word.isEmpty && line.utf8.count + 1 + word.utf8.count > Self.preferredLineLength
                && line.utf8.count > name.utf8.count + 1 {
                text += line + "\r\n"
                line = ""
            }
            line += " " + word
        }
        text += line + "\r\n"
        output.append(contentsOf: text.utf8)
    }

    /// Unstructured text (RFC 5322 3.2.5): encoded words when needed (RFC 2047), else the words as given.
    mutating func field(_ name: String, unstructured value: String, encode: Bool) {
        let clean = String(value.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : Character($0) })
        // Empty pieces keep runs of spaces exactly as given; folds happen only before real words.
        let words = clean.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        if encode && (EncodedWord.needsEncoding(clean) || words.contains { $0.utf8.count > 900 }) {
            field(name, words: EncodedWord.encode(clean))
        } else {
            field(name, words: words.isEmpty ? [""] : words)
        }
    }

    mutating func addresses(_ name: String, _ mailboxes: [Mailbox]) {
        var words: [String] = []
        for (index, mailbox) in mailboxes.enumerated() {
            var mailboxWords: [String] = []
            if let display = mailbox.displayName, !display.isEmpty {
                if EncodedWord.needsEncoding(display) {
                    mailboxWords = EncodedWord.encode(display)
                } else if display.utf8.allSatisfy({ Self.isAtomText($0) || $0 == ASCII.space }) {
                    mailboxWords = display.split(separator: " ").map(String.init)
                } else {
                    mailboxWords = [AddressParser.quoted(display)]
                }
                mailboxWords.append("<" + mailbox.address + ">")
            } else {
                mailboxWords = [mailbox.address]
            }
            if index < mailboxes.count - 1 { mailboxWords[mailboxWords.count - 1] += "," }
            words.append(contentsOf: mailboxWords)
        }
        field(name, words: words)
    }

    // atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" / "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"
    static func isAtomText(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
        }
    }

    /// `Name: value; a="b"; c*0*=utf-8''...` with RFC 2231 for values that are not ASCII or are
    /// long, each parameter on its own folded line.
    mutating func parameterized(_ name: String, value: String, parameters: [(String, String)]) {
        var words = [value + (parameters.isEmpty ? "" : ";")]
        for (index, (attribute, parameterValue)) in parameters.enumerated() {
            let isLast = index == parameters.count - 1
            for segment in Self.parameterSegments(attribute, parameterValue) {
                words.append(segment + ";")
            }
            if isLast, !words.isEmpty { words[words.count - 1].removeLast() }
        }
        field(name, words: words)
    }

    static func parameterSegments(_ attribute: String, _ value: String) -> [String] {
        let isPlain = value.utf8.allSatisfy { $0 >= ASCII.space && $0 < 0x7F }
        if isPlain && value.utf8.count <= 60 {
            let isToken = !value.isEmpty && value.utf8.allSatisfy { !ParameterGrammar.isTokenSpecial($0) }
            return [attribute + "=" + (isToken ? value : AddressParser.quoted(value))]
        }
        // RFC 2231 sections 3 and 4: charset-encoded continuations of at most ~60 characters.
        let encoded = ParameterGrammar.percentEncode(Array(value.utf8))
        var segments: [String] = []
        var start = 0
        while start < encoded.count {
            var end = min(start + 60, encoded.count)
            // Never split a %XX triple.
            if end < encoded.count {
                if end >= 1 && encoded[end - 1] == UInt8(ascii: "%") { end -= 1 }
                else if end >= 2 && encoded[end - 2] == UInt8(ascii: "%") { end -= 2 }
            }
            segments.append(String(decoding: encoded[start..<end], as: UTF8.self))
            start = end
        }
        if segments.isEmpty { segments = [""] }
        if segments.count == 1 { return [attribute + "*=utf-8''" + segments[0]] }
        return segments.enumerated().map { index, segment in
            attribute + "*\(index)*=" + (index == 0 ? "utf-8''" : "") + segment
        }
    }
}
