import Foundation
import MIME
import MailCore

/// The body of `POST /messages/send` and of the drafts endpoints (Nylas v3 field names), and how
/// it becomes a MIME message.
struct OutgoingMessageRequest: Decodable {
    struct Recipient: Decodable {
        let name: String?
        let email: String?
    }

    struct Attachment: Decodable {
        let filename: String?
        let contentType: String?
        let content: String?
        let contentID: String?
        let isInline: Bool?

        enum CodingKeys: String, CodingKey {
            case filename, content
            case contentType = "content_type"
            case contentID = "content_id"
            case isInline = "is_inline"
        }
    }

    struct CustomHeader: Decodable {
        let name: String?
        let value: String?
    }

    var to: [Recipient]?
    var cc: [Recipient]?
    var bcc: [Recipient]?
    var replyTo: [Recipient]?
    var subject: String?
    var body: String?
    var attachments: [Attachment]?
    var replyToMessageID: String?
    var customHeaders: [CustomHeader]?
    var isPlaintext: Bool?

    enum CodingKeys: String, CodingKey {
        case to, cc, bcc, subject, body, attachments
        case replyTo = "reply_to"
        case replyToMessageID = "reply_to_message_id"
        case customHeaders = "custom_headers"
        case isPlaintext = "is_plaintext"
    }
}

/// A checked outgoing message: what the request asked for, ready to build.
struct OutgoingMessage {
    /// Header fields the builder writes itself; custom headers may not set them.
    static let reservedHeaders: Set<String> = [
        "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
        "mime-version", "content-type", "content-transfer-encoding", "content-disposition", "content-id", "received",
        "return-path",
    ]
    static let maximumRecipients = 100
    static let maximumAttachments = 100
    static let maximumCustomHeaders = 50

    var builder = MessageBuilder()
    var recipients: [EmailAddress] = []

    /// Checks every field (errors name it) and fills a builder; `files` are multipart file parts.
    init(_ request: OutgoingMessageRequest, from sender: EmailAddress, files: [MessageBuilder.FilePart] = [],
         requireRecipients: Bool) throws {
        guard let fromMailbox = Mailbox(address: sender.address) else {
            throw APIError(.internalError, "the grant's address cannot be written as a mailbox")
        }
        builder.from = [fromMailbox]
        builder.to = try Self.mailboxes(request.to, field: "to")
        builder.cc = try Self.mailboxes(request.cc, field: "cc")
        builder.bcc = try Self.mailboxes(request.bcc, field: "bcc")
        builder.replyTo = try Self.mailboxes(request.replyTo, field: "reply_to")
        let everyone = builder.to + builder.cc + builder.bcc
        guard everyone.count <= Self.maximumRecipients else {
            throw APIError(.invalidRequest, "to, cc and bcc hold at most \(Self.maximumRecipients) recipients together")
        }
        if requireRecipients && everyone.isEmpty {
            throw APIError(.invalidRequest, "to, cc or bcc must name at least one recipient")
        }
        recipients = everyone.compactMap { EmailAddress($0.address) }
        if let subject = request.subject {
            guard !subject.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) else { throw APIError(.invalidRequest, "subject must be one line") }
            builder.subject = subject
        }
        let body = request.body ?? ""
        if request.isPlaintext == true {
            builder.textBody = body
        } else {
            builder.htmlBody = body
            builder.textBody = HTMLText.visibleText(body)
        }
        var parts: [MessageBuilder.FilePart] = []
        for (index, attachment) in (request.attachments ?? []).enumerated() {
            parts.append(try Self.filePart(attachment, field: "attachments[\(index)]"))
        }
        parts += files
        guard parts.count <= Self.maximumAttachments else {
            throw APIError(.invalidRequest, "attachments: at most \(Self.maximumAttachments) files")
        }
        builder.attachments = parts
        let headers = request.customHeaders ?? []
        guard headers.count <= Self.maximumCustomHeaders else {
            throw APIError(.invalidRequest, "custom_headers: at most \(Self.maximumCustomHeaders) headers")
        }
        for (index, header) in headers.enumerated() {
            guard let name = header.name, !name.isEmpty, name.utf8.count <= 76,
                  name.utf8.allSatisfy({ (33...126).contains($0) && $0 != UInt8(ascii: ":") }) else {
                throw APIError(.invalidRequest, "custom_headers[\(index)].name must be a header field name (printable ASCII, no colon)")
            }
            guard !Self.reservedHeaders.contains(name.lowercased()) else {
                throw APIError(.invalidRequest, "custom_headers[\(index)].name: \(name) is set from the message's own fields")
            }
            guard let value = header.value, !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }), value.utf8.count <= 4096 else {
                throw APIError(.invalidRequest, "custom_headers[\(index)].value must be one line of at most 4096 bytes")
            }
            builder.extraHeaders.append(.init(name: name, value: value))
        }
    }

    /// Makes this message a reply: In-Reply-To and References (RFC 5322 3.6.4) name the original,
    /// which also puts it in the original's thread.
    mutating func reply(to original: StoredMessage) {
        guard let messageID = original.facts.messageIDHeader else { return }
        builder.inReplyTo = [messageID]
        var references = original.facts.references
        if references.isEmpty { references = original.facts.inReplyTo }
        builder.references = references.filter { $0 != messageID } + [messageID]
        if builder.subject == nil, let subject = original.facts.subject {
            builder.subject = original.facts.subjectHasReplyPrefix ? subject : "Re: \(subject)"
        }
    }

    static func mailboxes(_ recipients: [OutgoingMessageRequest.Recipient]?, field: String) throws -> [Mailbox] {
        try (recipients ?? []).enumerated().map { index, recipient in
            guard let email = recipient.email, EmailAddress(email) != nil,
                  let mailbox = Mailbox(displayName: recipient.name.flatMap { $0.isEmpty ? nil : $0 }, address: email) else {
                throw APIError(.invalidRequest, "\(field)[\(index)].email must be an email address")
            }
            if let name = recipient.name, name.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
                throw APIError(.invalidRequest, "\(field)[\(index)].name must be one line")
            }
            return mailbox
        }
    }

    static func filePart(_ attachment: OutgoingMessageRequest.Attachment, field: String) throws -> MessageBuilder.FilePart {
        guard let content = attachment.content else { throw APIError(.invalidRequest, "\(field).content is required") }
        let compact = content.filter { !$0.isWhitespace }
        let standard = compact.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let padded = standard + String(repeating: "=", count: (4 - standard.count % 4) % 4)
        guard let data = Data(base64Encoded: padded) else {
            throw APIError(.invalidRequest, "\(field).content must be base64")
        }
        let contentType = attachment.contentType.flatMap { $0.isEmpty ? nil : $0 } ?? "application/octet-stream"
        guard Self.isMediaType(contentType) else {
            throw APIError(.invalidRequest, "\(field).content_type must be a media type like application/pdf")
        }
        if let filename = attachment.filename, filename.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) || filename.utf8.count > 255 {
            throw APIError(.invalidRequest, "\(field).filename must be one line of at most 255 bytes")
        }
        let contentID = attachment.contentID.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) }
        if let contentID, contentID.isEmpty || !contentID.utf8.allSatisfy({ (33...126).contains($0) }) {
            throw APIError(.invalidRequest, "\(field).content_id must be printable ASCII")
        }
        return MessageBuilder.FilePart(filename: attachment.filename, contentType: contentType, data: Array(data),
                                       contentID: contentID, isInline: attachment.isInline ?? (contentID != nil))
    }

    static func isMediaType(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let token: (Substring) -> Bool = { part in
            !part.isEmpty && part.utf8.allSatisfy { (33...126).contains($0) && !"()<>@,;:\\\"/[]?={}".utf8.contains($0) }
        }
        return parts.count == 2 && token(parts[0]) && token(parts[1])
    }
}
