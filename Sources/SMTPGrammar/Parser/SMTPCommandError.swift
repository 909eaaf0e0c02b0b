/// Why a command line was refused, and the reply it deserves.
///
/// | kind | reply |
/// | --- | --- |
/// | ``Kind/syntax``, ``Kind/unrecognizedCommand`` | `500 5.5.2` |
/// | ``Kind/lineTooLong`` | `500 5.5.6` |
/// | ``Kind/invalidArguments`` | `501 5.5.4` |
/// | ``Kind/invalidBase64`` | `501 5.5.2` (RFC 4954 section 4) |
/// | ``Kind/invalidSenderAddress(_:)`` | `501 5.1.7` |
/// | ``Kind/invalidRecipientAddress(_:)`` | `501 5.1.3` |
/// | ``Kind/nonASCIISenderWithoutSMTPUTF8`` | `550 5.6.7` (RFC 6531 section 3.5) |
/// | ``Kind/unrecognizedParameter`` | `555 5.5.4` |
///
/// After any of these the session reads the next command, unless ``closesConnection`` is set.
public struct SMTPCommandError: Error, Hashable, Sendable, SMTPReplyConvertible {
    public enum Kind: Hashable, Sendable {
        /// The line is empty or does not start with a verb.
        case syntax
        /// The verb is not one this grammar knows.
        case unrecognizedCommand
        /// The line is longer than its limit in ``SMTPLimits``.
        case lineTooLong
        /// A known verb with arguments that do not match its grammar.
        case invalidArguments
        /// The AUTH initial response is not strict base64.
        case invalidBase64
        /// The MAIL reverse-path does not parse, or is too long.
        case invalidSenderAddress(SMTPAddressError.Reason)
        /// The RCPT forward-path does not parse, or is too long.
        case invalidRecipientAddress(SMTPAddressError.Reason)
        /// A non-ASCII reverse-path on a MAIL without SMTPUTF8.
        case nonASCIISenderWithoutSMTPUTF8
        /// A MAIL or RCPT parameter the server does not support. The parser keeps unknown
        /// parameters in the command; the session raises this with ``unrecognizedParameter(_:)``
        /// for those, and for parameters of extensions it did not advertise.
        case unrecognizedParameter
    }

    public var kind: Kind
    /// The reply text: what was wrong, in words a client's user can act on.
    public var message: String
    /// True when the session cannot find the next command and must close after replying:
    /// a BDAT line whose chunk size cannot be read, because the chunk follows at once
    /// (RFC 3030 section 2).
    public var closesConnection: Bool

    public init(_ kind: Kind, _ message: String, closesConnection: Bool = false) {
        self.kind = kind
        self.message = message
        self.closesConnection = closesConnection
    }

    /// The error for a parameter the session refuses.
    public static func unrecognizedParameter(_ parameter: ESMTPParameter) -> SMTPCommandError {
        SMTPCommandError(.unrecognizedParameter, "Unsupported parameter \(parameter.keyword)")
    }

    /// The error for a line the ``SMTPLineReader`` reported as too long.
    public static let lineTooLong = SMTPCommandError(.lineTooLong, "Line too long")

    public var reply: SMTPReply {
        switch kind {
        case .syntax, .unrecognizedCommand:
            return SMTPReply(code: 500, enhancedStatusCode: .init(5, 5, 2), message)
        case .lineTooLong:
            return SMTPReply(code: 500, enhancedStatusCode: .init(5, 5, 6), message)
        case .invalidArguments:
            return SMTPReply(code: 501, enhancedStatusCode: .init(5, 5, 4), message)
        case .invalidBase64:
            return SMTPReply(code: 501, enhancedStatusCode: .init(5, 5, 2), message)
        case .invalidSenderAddress:
            return SMTPReply(code: 501, enhancedStatusCode: .init(5, 1, 7), message)
        case .invalidRecipientAddress:
            return SMTPReply(code: 501, enhancedStatusCode: .init(5, 1, 3), message)
        case .nonASCIISenderWithoutSMTPUTF8:
            return SMTPReply(code: 550, enhancedStatusCode: .init(5, 6, 7), message)
        case .unrecognizedParameter:
            return SMTPReply(code: 555, enhancedStatusCode: .init(5, 5, 4), message)
        }
    }
}
