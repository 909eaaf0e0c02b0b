import MIME
import MailCore
import Testing

@Suite struct PolicyLimitCheckTests {
    static func message(attachments: [(name: String, type: String, bytes: Int)]) -> MIMEMessage {
        var text = "From: a@example.test\r\nTo: b@example.test\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
        text += "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        for attachment in attachments {
            text += "--b\r\nContent-Type: \(attachment.type)\r\nContent-Disposition: attachment; filename=\"\(attachment.name)\"\r\n\r\n"
            text += String(repeating: "x", count: attachment.bytes) + "\r\n"
        }
        text += "--b--\r\n"
        return MIMEMessage(parsing: Array(text.utf8))
    }

    static let twoFiles = message(attachments: [("a.png", "image/png", 100), ("b.pdf", "application/pdf", 2000)])

    @Test func noLimitsNoViolation() {
        #expect(PolicyLimitCheck(limits: .init()).violation(of: Self.twoFiles, recipients: 3) == nil)
    }

    @Test(arguments: [
        ("limit_size_total_mime", Int64(100)), ("limit_attachment_count_limit", 1), ("limit_attachment_size_limit", 1000),
    ])
    func eachLimitIsNamed(_ field: String, _ value: Int64) {
        var limits = MailPolicy.Limits()
        switch field {
        case "limit_size_total_mime": limits.sizeTotalMIME = value
        case "limit_attachment_count_limit": limits.attachmentCountLimit = value
        default: limits.attachmentSizeLimit = value
        }
        #expect(PolicyLimitCheck(limits: limits).violation(of: Self.twoFiles)?.field == field)
    }

    @Test func allowedTypesTakeWildcards() {
        var limits = MailPolicy.Limits()
        limits.attachmentAllowedTypes = ["image/*", "application/pdf"]
        #expect(PolicyLimitCheck(limits: limits).violation(of: Self.twoFiles) == nil)
        limits.attachmentAllowedTypes = ["image/*"]
        #expect(PolicyLimitCheck(limits: limits).violation(of: Self.twoFiles)?.field == "limit_attachment_allowed_types")
    }

    @Test func unlimitedAndRecipients() {
        var limits = MailPolicy.Limits()
        limits.sizeTotalMIME = -1
        #expect(PolicyLimitCheck(limits: limits).violation(of: Self.twoFiles, recipients: 50) == nil)
        #expect(PolicyLimitCheck(limits: limits).violation(of: Self.twoFiles, recipients: 51)?.field == "recipients")
    }
}
