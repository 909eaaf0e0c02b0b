import MIME

/// A message as a mail client submitted it, made ready for the queue (RFC 6409 8): `Message-ID`
/// and `Date` added when missing; `Bcc` kept in the copy for Sent and removed from what is
/// transmitted (RFC 5322 3.6.3).
public struct SubmittedMessage: Sendable {
    public let sentCopy: [UInt8]
    public let transmit: [UInt8]

    public init(_ message: [UInt8], parsed: MIMEMessage, domain: String) {
        var added = ""
        if parsed.header("Message-ID") == nil {
            added += "Message-ID: <\(MessageBuilder.generateMessageID(domain: domain))>\r\n"
        }
        if parsed.header("Date") == nil {
            added += "Date: \(MessageDate.now().rfc5322)\r\n"
        }
        var copy = Array(added.utf8)
        copy.append(contentsOf: message)
        sentCopy = copy
        // The header of the copy, with every Bcc field (and its folded lines) left out.
        var transmitted = Array(added.utf8)
        var kept = parsed.root.headerRange.lowerBound
        for field in parsed.root.headers where field.hasName("Bcc") {
            transmitted.append(contentsOf: message[kept..<field.fieldRange.lowerBound])
            kept = field.fieldRange.upperBound
        }
        transmitted.append(contentsOf: message[kept...])
        transmit = transmitted
    }
}
