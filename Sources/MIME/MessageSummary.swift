/// An attachment as mail clients and the REST API list it.
public struct Attachment: Sendable, Hashable {
    public var sectionPath: [Int]
    /// From Content-Disposition `filename` or Content-Type `name`, RFC 2231 / 2047 decoded.
    public var filename: String?
    /// `type/subtype`, lowercased.
    public var contentType: String
    /// Without angle brackets.
    public var contentID: String?
    /// True when the part is shown in the body (Content-Disposition inline, or an inline image
    /// in multipart/related) rather than offered as a file.
    public var isInline: Bool
    /// Decoded size in octets.
    public var size: Int
    /// Size as transmitted (transfer-encoded).
    public var encodedSize: Int
}

/// What the store keeps about a message so lists and searches need not reparse it.
public struct MessageSummary: Sendable, Hashable {
    public var subject: String?
    public var from: [Mailbox]
    public var sender: [Mailbox]
    public var to: [Mailbox]
    public var cc: [Mailbox]
    public var bcc: [Mailbox]
    public var replyTo: [Mailbox]
    public var date: MessageDate?
    public var messageID: String?
    public var inReplyTo: [String]
    public var references: [String]
    /// About `MIMELimits.snippetLength` characters of visible text, whitespace folded.
    public var snippet: String
    /// The text/plain body parts joined (RFC 8621 4.1.4 textBody), or nil when there is none.
    public var textBody: String?
    /// The text/html body parts joined (RFC 8621 4.1.4 htmlBody), or nil when there is none.
    public var htmlBody: String?
    public var attachments: [Attachment]
    /// False when some body part used a charset neither we nor iconv know.
    public var allCharsetsRecognized: Bool
    public var size: Int
}

extension MIMEMessage {
    /// The parts that make up the text body, the HTML body and the attachments, chosen by the
    /// algorithm of RFC 8621 section 4.1.4 (JMAP), which encodes the multipart/alternative and
    /// multipart/related rules mail clients follow.
    public func bodyParts() -> (text: [MIMEPart], html: [MIMEPart], attachments: [MIMEPart]) {
        var text: [MIMEPart] = [], html: [MIMEPart] = [], attachments: [MIMEPart] = []
        func isInlineMediaType(_ type: ContentType) -> Bool {
            type.type == "image" || type.type == "audio" || type.type == "video"
        }
        func walk(_ parts: [MIMEPart], multipartType: String, inAlternative: Bool, textEnabled: Bool, htmlEnabled: Bool) {
            let textLength = textEnabled ? text.count : -1
            let htmlLength = htmlEnabled ? html.count : -1
            var textEnabled = textEnabled, htmlEnabled = htmlEnabled
            for (index, part) in parts.enumerated() {
                let type = part.contentType
                let mimeType = type.mimeType
                let isInline = part.contentDisposition?.type != "attachment"
                    && (mimeType == "text/plain" || mimeType == "text/html" || isInlineMediaType(type))
                    && (index == 0 || (multipartType != "related" && (isInlineMediaType(type) || part.filename == nil)))
                if part.isMultipart && !part.children.isEmpty {
                    walk(part.children, multipartType: type.subtype, inAlternative: inAlternative || type.subtype == "alternative",
                         textEnabled: textEnabled, htmlEnabled: htmlEnabled)
                } else if isInline {
                    if multipartType == "alternative" {
                        switch mimeType {
                        case "text/plain": text.append(part)
                        case "text/html": html.append(part)
                        default: attachments.append(part)
                        }
                        continue
                    } else if inAlternative {
                        if mimeType == "text/plain" { htmlEnabled = false }
                        if mimeType == "text/html" { textEnabled = false }
                    }
                    if textEnabled { text.append(part) }
                    if htmlEnabled { html.append(part) }
                    if (!textEnabled || !htmlEnabled) && isInlineMediaType(type) { attachments.append(part) }
                } else {
                    attachments.append(part)
                }
            }
            if multipartType == "alternative" && textEnabled && htmlEnabled {
                if textLength == text.count && htmlLength != html.count {
                    text.append(contentsOf: html[htmlLength...])
                }
                if htmlLength == html.count && textLength != text.count {
                    html.append(contentsOf: text[textLength...])
                }
            }
        }
        walk([root], multipartType: "mixed", inAlternative: false, textEnabled: true, htmlEnabled: true)
        return (text, html, attachments)
    }

    /// The attachment list (RFC 8621 attachments), with names, content ids and sizes.
    public func attachments() -> [Attachment] {
        bodyParts().attachments.map(attachment(for:))
    }

    func attachment(for part: MIMEPart) -> Attachment {
        var contentID = part.contentID.flatMap { MessageIDParser.parse(Array($0.utf8)) ?? $0 }
        if contentID?.isEmpty == true { contentID = nil }
        var filename = part.filename
        if filename == nil, part.contentType.isEncapsulatedMessage, let embedded = part.embeddedMessage {
            filename = subject(in: embedded).map { $0 + ".eml" }
        }
        return Attachment(sectionPath: part.sectionPath, filename: filename, contentType: part.contentType.mimeType,
                          contentID: contentID, isInline: part.contentDisposition?.type == "inline"
                            || (part.contentDisposition == nil && contentID != nil),
                          size: decodedSize(of: part), encodedSize: part.size)
    }

    /// Everything the store records at write time, computed from one parse.
    public func summary() -> MessageSummary {
        let parts = bodyParts()
        var allRecognized = true
        func joinedText(_ parts: [MIMEPart]) -> String? {
            let texts = parts.filter { $0.contentType.type == "text" }.map { part -> String in
                let decoded = text(of: part)
                if !decoded.charsetRecognized { allRecognized = false }
                return decoded.text
            }
            return texts.isEmpty ? nil : texts.joined(separator: "\n")
        }
        let textBody = joinedText(parts.text.filter { $0.contentType.subtype != "html" })
        let htmlBody = joinedText(parts.html.filter { $0.contentType.subtype == "html" })
        let visible: String
        if let textBody, !textBody.allSatisfy(\.isWhitespace) {
            visible = String(textBody.prefix(MIMELimits.snippetLength * 8))
        } else if let htmlBody {
            visible = HTMLText.visibleText(String(htmlBody.prefix(MIMELimits.snippetLength * 64)))
        } else {
            visible = ""
        }
        return MessageSummary(
            subject: subject(), from: addresses("From").mailboxes, sender: addresses("Sender").mailboxes,
            to: addresses("To").mailboxes, cc: addresses("Cc").mailboxes, bcc: addresses("Bcc").mailboxes,
            replyTo: addresses("Reply-To").mailboxes, date: date(), messageID: messageID(),
            inReplyTo: inReplyTo(), references: references(),
            snippet: HTMLText.foldWhitespace(visible, limit: MIMELimits.snippetLength),
            textBody: textBody, htmlBody: htmlBody, attachments: parts.attachments.map(attachment(for:)),
            allCharsetsRecognized: allRecognized, size: bytes.count)
    }
}
