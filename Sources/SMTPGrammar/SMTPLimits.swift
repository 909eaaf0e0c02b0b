/// Every bound the SMTP grammar enforces on bytes from the network, in one place.
///
/// A hostile peer cannot make ``SMTPLineReader``, ``SMTPCommandParser``, ``SMTPDataDecoder``,
/// ``BDATDecoder`` or ``SMTPReplyParser`` buffer more than these allow. Each bound maps to one
/// outcome and reply:
///
/// | bound | exceeded by | outcome |
/// | --- | --- | --- |
/// | ``maxCommandLineLength`` | a command line other than MAIL, RCPT and AUTH | `500 5.5.6`, line discarded |
/// | ``maxMailCommandLineLength`` | a MAIL or RCPT line | `500 5.5.6`, line discarded |
/// | ``maxAuthLineLength`` | an AUTH line or a SASL response line | `500 5.5.6`, line discarded |
/// | ``maxLocalPartLength`` | the local part of an address | `501 5.1.7` (MAIL) / `501 5.1.3` (RCPT) |
/// | ``maxDomainLength`` | the domain of an address | `501 5.1.7` / `501 5.1.3` |
/// | ``maxPathLength`` | a whole `<...>` path | `501 5.1.7` / `501 5.1.3` |
/// | ``maxMessageSize`` | the content of one message (DATA or BDAT) | drained, then `552 5.3.4` |
/// | ``maxTextLineLength`` | a line of message content | not an error: ``SMTPMessageSummary/hasLongLines`` |
/// | ``maxReplyLineLength`` | one reply line read by a client | ``SMTPReplyParseError/Kind/lineTooLong`` |
/// | ``maxReplyLines`` | lines of one reply read by a client | ``SMTPReplyParseError/Kind/tooManyLines`` |
///
/// Some bounds are fixed by the grammar rather than configurable, and are enforced as syntax:
/// a domain label is at most 63 octets (RFC 1035 section 2.3.4), a SASL mechanism name at most 20
/// characters (RFC 4422 section 3.1), a `SIZE=` value at most 20 digits (RFC 1870 section 3), and
/// an IPv4 literal's parts at most 255.
public struct SMTPLimits: Hashable, Sendable {
    /// Octets of one command line, the line ending included (RFC 5321 section 4.5.3.1.4).
    public var maxCommandLineLength: Int
    /// Octets of one MAIL or RCPT line, the line ending included. Service extensions lengthen
    /// these lines beyond the 512 of RFC 5321: SIZE by 26 (RFC 1870 section 3), AUTH= by 500
    /// (RFC 4954 section 3), SMTPUTF8 by 10 (RFC 6531 section 3.1), and the DSN parameters ENVID,
    /// RET, NOTIFY and ORCPT (RFC 3461) by several hundred more.
    public var maxMailCommandLineLength: Int
    /// Octets of an AUTH command line or of one SASL response line, the line ending included.
    /// RFC 4954 section 4 calls 12288 sufficient for deployed mechanisms; AUTH lines get it too
    /// because clients sending OAuth tokens as an initial response exceed 512 in practice.
    public var maxAuthLineLength: Int
    /// Octets of the local part of an address as sent, quotes included (RFC 5321 section 4.5.3.1.1).
    public var maxLocalPartLength: Int
    /// Octets of a domain name or address literal, brackets included (RFC 5321 section 4.5.3.1.2).
    public var maxDomainLength: Int
    /// Octets of a reverse-path or forward-path, the angle brackets and any source route
    /// included (RFC 5321 section 4.5.3.1.3).
    public var maxPathLength: Int
    /// Octets of one message's content as RFC 1870 counts them: CRLFs included, the terminating
    /// dot and the dots added for transparency not. The server advertises it as `SIZE`.
    public var maxMessageSize: Int
    /// Octets of one line of message content, not counting its CRLF (RFC 5321 section
    /// 4.5.3.1.6, RFC 5322 section 2.1.1). Longer lines are reported, not refused.
    public var maxTextLineLength: Int
    /// Octets of one reply line a client accepts, the line ending included. RFC 5321 section
    /// 4.5.3.1.5 allows 512, but a `334` challenge carries SASL data as long as a SASL response.
    public var maxReplyLineLength: Int
    /// Lines of one reply a client accepts (an EHLO reply has one per extension).
    public var maxReplyLines: Int

    public static let defaultMaxCommandLineLength = 512
    public static let defaultMaxMailCommandLineLength = 2_048
    public static let defaultMaxAuthLineLength = 12_288
    public static let defaultMaxLocalPartLength = 64
    public static let defaultMaxDomainLength = 255
    public static let defaultMaxPathLength = 256
    public static let defaultMaxMessageSize = 25 * 1024 * 1024
    public static let defaultMaxTextLineLength = 998
    public static let defaultMaxReplyLineLength = 12_288
    public static let defaultMaxReplyLines = 128

    public init(
        maxCommandLineLength: Int = SMTPLimits.defaultMaxCommandLineLength,
        maxMailCommandLineLength: Int = SMTPLimits.defaultMaxMailCommandLineLength,
        maxAuthLineLength: Int = SMTPLimits.defaultMaxAuthLineLength,
        maxLocalPartLength: Int = SMTPLimits.defaultMaxLocalPartLength,
        maxDomainLength: Int = SMTPLimits.defaultMaxDomainLength,
        maxPathLength: Int = SMTPLimits.defaultMaxPathLength,
        maxMessageSize: Int = SMTPLimits.defaultMaxMessageSize,
        maxTextLineLength: Int = SMTPLimits.defaultMaxTextLineLength,
        maxReplyLineLength: Int = SMTPLimits.defaultMaxReplyLineLength,
        maxReplyLines: Int = SMTPLimits.defaultMaxReplyLines
    ) {
        self.maxCommandLineLength = maxCommandLineLength
        self.maxMailCommandLineLength = maxMailCommandLineLength
        self.maxAuthLineLength = maxAuthLineLength
        self.maxLocalPartLength = maxLocalPartLength
        self.maxDomainLength = maxDomainLength
        self.maxPathLength = maxPathLength
        self.maxMessageSize = maxMessageSize
        self.maxTextLineLength = maxTextLineLength
        self.maxReplyLineLength = maxReplyLineLength
        self.maxReplyLines = maxReplyLines
    }

    public static let `default` = SMTPLimits()
}
