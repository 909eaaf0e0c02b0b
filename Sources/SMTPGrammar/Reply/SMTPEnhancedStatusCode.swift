/// An enhanced mail system status code (RFC 3463 section 2), sent after the reply code when the
/// server advertises ENHANCEDSTATUSCODES (RFC 2034).
///
/// ```
/// status-code = class "." subject "." detail
/// class       = "2" / "4" / "5"
/// subject     = 1*3digit
/// detail      = 1*3digit
/// ```
/// ```
/// SMTPEnhancedStatusCode(5, 1, 1).description   // "5.1.1"  (bad destination mailbox address)
/// ```
public struct SMTPEnhancedStatusCode: Hashable, Sendable, CustomStringConvertible {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    public let statusClass: Int
    /// 0 to 999: the area (1 addressing, 2 mailbox, 3 mail system, 4 network, 5 protocol,
    /// 6 content, 7 security).
    public let subject: Int
    /// 0 to 999, meaningful within the subject.
    public let detail: Int

    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        precondition([2, 4, 5].contains(statusClass), "enhanced status class must be 2, 4 or 5")
        precondition((0...999).contains(subject) && (0...999).contains(detail), "subject and detail have 1 to 3 digits")
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses `class.subject.detail`; nil when the text is not exactly one status code.
    public init?<Text: StringProtocol>(_ text: Text) {
        // One pass: the three numbers and the digits of each (a reply makes one of these).
        var values = (0, 0, 0), digits = (0, 0, 0), part = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard part < 2 else { return nil }
                part += 1
            } else {
                guard SMTPCursor.isDigit(byte) else { return nil }
                let digit = Int(byte - 0x30)
                switch part {
                case 0: values.0 = values.0 * 10 + digit; digits.0 += 1
                case 1: values.1 = values.1 * 10 + digit; digits.1 += 1
                default: values.2 = values.2 * 10 + digit; digits.2 += 1
                }
                guard digits.0 <= 1, digits.1 <= 3, digits.2 <= 3 else { return nil }
            }
        }
        guard part == 2, digits.0 == 1, digits.1 >= 1, digits.2 >= 1, [2, 4, 5].contains(values.0) else { return nil }
        self.init(values.0, values.1, values.2)
    }

    public var description: String {
        "\(statusClass).\(subject).\(detail)"
    }
}
