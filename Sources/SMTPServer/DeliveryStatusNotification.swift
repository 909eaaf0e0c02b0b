import MIME
import MailCore

/// A bounce: the RFC 3464 delivery status notification that tells a sender which recipients did
/// not get the message, as `multipart/report; report-type=delivery-status` (RFC 6522) with a
/// human part, the machine-readable status and the original message's header.
struct DeliveryStatusNotification {
    struct FailedRecipient: Sendable {
        var address: String
        /// The enhanced status code (RFC 3463), `5.x.x` or `4.x.x` for a message that expired.
        var status: String
        /// What the remote server said, or why we gave up.
        var diagnostic: String
        /// Whether `diagnostic` is a remote server's SMTP reply (`Diagnostic-Code: smtp;`) rather
        /// than our own words (`x-local;`), RFC 3464 2.3.6.
        var isSMTPReply = false
    }

    var reportingHost: String
    var sender: String
    var originalMessage: [UInt8]
    var arrivalDate: Int64
    var failed: [FailedRecipient]
    /// Stable for one job and attempt, so that storing the bounce twice stores it once.
    var messageID: String

    func build() -> [UInt8] {
        let boundary = "=_report_\(messageID.prefix(16).filter { $0.isLetter || $0.isNumber })"
        let now = MessageDate.now().rfc5322
        let arrival = MessageDate(secondsSince1970: arrivalDate).rfc5322
        let original = MIMEMessage(parsing: originalMessage)
        let headerBytes = originalMessage[original.root.headerRange]
        let subject = original.subject().map { " (\($0))" } ?? ""
        let expired = failed.contains { $0.status.hasPrefix("4.") }
        var text = "This is the mail system at \(reportingHost).\r\n\r\n"
        text += expired
            ? "Your message\(subject) could not be delivered in time to the recipients below; it will not be tried again.\r\n\r\n"
            : "Your message\(subject) could not be delivered to the recipients below.\r\n\r\n"
        for recipient in failed {
            text += "<\(recipient.address)>: \(Self.oneLine(recipient.diagnostic))\r\n"
        }
        var status = "Reporting-MTA: dns; \(reportingHost)\r\nArrival-Date: \(arrival)\r\n"
        for recipient in failed {
            status += "\r\nFinal-Recipient: rfc822; \(recipient.address)\r\nAction: failed\r\nStatus: \(recipient.status)\r\n"
            status += "Diagnostic-Code: \(recipient.isSMTPReply ? "smtp" : "x-local"); \(Self.oneLine(recipient.diagnostic))\r\n"
            status += "Last-Attempt-Date: \(now)\r\n"
        }
        var message = ""
        message += "From: Mail Delivery System <MAILER-DAEMON@\(reportingHost)>\r\n"
        message += "To: <\(sender)>\r\n"
        message += "Subject: Undelivered Mail Returned to Sender\r\n"
        message += "Date: \(now)\r\n"
        message += "Message-ID: <\(messageID)>\r\n"
        message += "Auto-Submitted: auto-replied\r\n"
        message += "MIME-Version: 1.0\r\n"
        message += "Content-Type: multipart/report; report-type=delivery-status; boundary=\"\(boundary)\"\r\n\r\n"
        message += "This is a MIME-encapsulated delivery status notification.\r\n\r\n"
        message += "--\(boundary)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\(text)\r\n"
        message += "--\(boundary)\r\nContent-Type: message/delivery-status\r\n\r\n\(status)\r\n"
        message += "--\(boundary)\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        var bytes = Array(message.utf8)
        bytes.append(contentsOf: headerBytes)
        if !bytes.suffix(2).elementsEqual([13, 10]) { bytes.append(contentsOf: [13, 10]) }
        bytes.append(contentsOf: Array("\r\n--\(boundary)--\r\n".utf8))
        return bytes
    }

    /// Diagnostics come from remote servers: one line, printable, bounded.
    static func oneLine(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) }.prefix(500))
    }
}
