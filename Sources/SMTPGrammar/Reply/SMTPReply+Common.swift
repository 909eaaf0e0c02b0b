/// The replies a server commonly sends, with the codes and enhanced status codes the RFCs give
/// them (RFC 5321 section 4.2, RFC 3463, RFC 4954 section 6, RFC 3207, RFC 1870, RFC 6531).
///
/// The greeting and the replies to EHLO and HELO carry no enhanced status code, and neither do
/// 3yz replies (RFC 2034 section 4).
extension SMTPReply {
    // MARK: - Session

    /// `220 mail.example.com ESMTP`: the greeting when a client connects.
    public static func greeting(domain: String, text: String = "ESMTP") -> SMTPReply {
        SMTPReply(code: 220, "\(domain) \(text)")
    }

    /// The EHLO reply: the server's name, then one line per extension keyword.
    ///
    /// ```
    /// S: 250-mail.example.com Hello client.example.org
    /// S: 250-SIZE 26214400
    /// S: 250 PIPELINING
    /// ```
    public static func ehlo(domain: String, greeting: String? = nil, extensions: [String]) -> SMTPReply {
        let first = greeting.map { "\(domain) \($0)" } ?? domain
        return SMTPReply(code: 250, lines: [first] + extensions)
    }

    /// `250 mail.example.com`: the HELO reply.
    public static func helo(domain: String) -> SMTPReply {
        SMTPReply(code: 250, domain)
    }

    /// `221 2.0.0 Bye`: the QUIT reply; the server closes afterwards.
    public static let bye = SMTPReply(code: 221, enhancedStatusCode: .init(2, 0, 0), "Bye")

    /// `250 2.0.0 OK`
    public static let ok = SMTPReply.ok("OK")

    /// `250 2.0.0 text`, e.g. the queue id after a message was accepted.
    public static func ok(_ text: String) -> SMTPReply {
        SMTPReply(code: 250, enhancedStatusCode: .init(2, 0, 0), text)
    }

    /// `250 2.1.0 Sender OK`: the MAIL reply.
    public static let senderOK = SMTPReply(code: 250, enhancedStatusCode: .init(2, 1, 0), "Sender OK")

    /// `250 2.1.5 Recipient OK`: the RCPT reply.
    public static let recipientOK = SMTPReply(code: 250, enhancedStatusCode: .init(2, 1, 5), "Recipient OK")

    /// `252 2.0.0`: the VRFY reply of a server that does not disclose its users
    /// (RFC 5321 section 3.5.3).
    public static let cannotVerify = SMTPReply(
        code: 252, enhancedStatusCode: .init(2, 0, 0), "Cannot VRFY user, but will accept message and attempt delivery")

    /// `214 2.0.0 text`: the HELP reply.
    public static func help(_ text: String) -> SMTPReply {
        SMTPReply(code: 214, enhancedStatusCode: .init(2, 0, 0), text)
    }

    /// `354 End data with <CR><LF>.<CR><LF>`: the DATA reply before the content.
    public static let startMailInput = SMTPReply(code: 354, "End data with <CR><LF>.<CR><LF>")

    /// `220 2.0.0 Ready to start TLS` (RFC 3207 section 4).
    public static let readyToStartTLS = SMTPReply(code: 220, enhancedStatusCode: .init(2, 0, 0), "Ready to start TLS")

    // MARK: - Authentication (RFC 4954)

    /// `334 base64`: a SASL challenge; an empty challenge is `334 ` (RFC 4954 section 4).
    public static func authenticationChallenge(_ challenge: [UInt8]) -> SMTPReply {
        SMTPReply(code: 334, SASL.Base64.encode(challenge))
    }

    /// `235 2.7.0 Authentication successful`
    public static let authenticationSucceeded = SMTPReply(
        code: 235, enhancedStatusCode: .init(2, 7, 0), "Authentication successful")

    /// `454 4.7.0 Temporary authentication failure`
    public static let temporaryAuthenticationFailure = SMTPReply(
        code: 454, enhancedStatusCode: .init(4, 7, 0), "Temporary authentication failure")

    /// `501 5.0.0 Authentication cancelled`: the client answered a challenge with `*`.
    public static let authenticationCancelled = SMTPReply(
        code: 501, enhancedStatusCode: .init(5, 0, 0), "Authentication cancelled")

    /// `501 5.5.2 Invalid base64 data`: a SASL response that is not strict base64.
    public static let invalidBase64 = SMTPReply(code: 501, enhancedStatusCode: .init(5, 5, 2), "Invalid base64 data")

    /// `504 5.5.4`: AUTH named a mechanism the server does not offer.
    public static let unrecognizedAuthenticationMechanism = SMTPReply(
        code: 504, enhancedStatusCode: .init(5, 5, 4), "Unrecognized authentication mechanism")

    /// `530 5.7.0 Authentication required`
    public static let authenticationRequired = SMTPReply(
        code: 530, enhancedStatusCode: .init(5, 7, 0), "Authentication required")

    /// `530 5.7.0 Must issue a STARTTLS command first` (RFC 3207 section 4).
    public static let startTLSRequired = SMTPReply(
        code: 530, enhancedStatusCode: .init(5, 7, 0), "Must issue a STARTTLS command first")

    /// `535 5.7.8 Authentication credentials invalid`
    public static let authenticationFailed = SMTPReply(
        code: 535, enhancedStatusCode: .init(5, 7, 8), "Authentication credentials invalid")

    /// `538 5.7.11`: the mechanism is only allowed over an encrypted connection.
    public static let encryptionRequiredForMechanism = SMTPReply(
        code: 538, enhancedStatusCode: .init(5, 7, 11), "Encryption required for requested authentication mechanism")

    // MARK: - Transient failures

    /// `421 4.4.2`: the client was idle too long; the server closes.
    public static let timeout = SMTPReply(
        code: 421, enhancedStatusCode: .init(4, 4, 2), "Timeout exceeded, closing connection")

    /// `421 4.7.0`: the client made too many errors; the server closes.
    public static let tooManyErrors = SMTPReply(
        code: 421, enhancedStatusCode: .init(4, 7, 0), "Too many errors, closing connection")

    /// `421 4.3.2`: the server is shutting down; it closes.
    public static let shuttingDown = SMTPReply(
        code: 421, enhancedStatusCode: .init(4, 3, 2), "Service shutting down, closing connection")

    /// `451 4.3.0 Local error in processing`
    public static let localError = SMTPReply(
        code: 451, enhancedStatusCode: .init(4, 3, 0), "Local error in processing")

    /// `452 4.2.2 Mailbox full`: over quota, perhaps not for long.
    public static let mailboxFullTemporarily = SMTPReply(
        code: 452, enhancedStatusCode: .init(4, 2, 2), "Mailbox full")

    /// `452 4.5.3 Too many recipients`: the client sends the rest in another transaction
    /// (RFC 5321 section 4.5.3.1.10).
    public static let tooManyRecipients = SMTPReply(
        code: 452, enhancedStatusCode: .init(4, 5, 3), "Too many recipients")

    /// `454 4.7.0 TLS not available due to temporary reason` (RFC 3207 section 4).
    public static let tlsNotAvailable = SMTPReply(
        code: 454, enhancedStatusCode: .init(4, 7, 0), "TLS not available due to temporary reason")

    // MARK: - Syntax and sequence

    /// `500 5.5.2 Syntax error, command unrecognized`
    public static let unrecognizedCommand = SMTPReply(
        code: 500, enhancedStatusCode: .init(5, 5, 2), "Syntax error, command unrecognized")

    /// `500 5.5.6 Line too long` (RFC 5321 section 4.5.3.1.4, RFC 4954 section 4).
    public static let lineTooLong = SMTPReply(code: 500, enhancedStatusCode: .init(5, 5, 6), "Line too long")

    /// `501 5.5.4 text`: the arguments of a known command are wrong.
    public static func invalidArguments(_ text: String) -> SMTPReply {
        SMTPReply(code: 501, enhancedStatusCode: .init(5, 5, 4), text)
    }

    /// `501 5.1.7`: the MAIL address does not parse.
    public static func badSenderAddressSyntax(_ detail: String) -> SMTPReply {
        SMTPReply(code: 501, enhancedStatusCode: .init(5, 1, 7), "Bad sender address syntax: \(detail)")
    }

    /// `501 5.1.3`: the RCPT address does not parse.
    public static func badRecipientAddressSyntax(_ detail: String) -> SMTPReply {
        SMTPReply(code: 501, enhancedStatusCode: .init(5, 1, 3), "Bad recipient address syntax: \(detail)")
    }

    /// `502 5.5.1 Command not implemented`
    public static let notImplemented = SMTPReply(
        code: 502, enhancedStatusCode: .init(5, 5, 1), "Command not implemented")

    /// `503 5.5.1`: the command is valid but not now (RCPT before MAIL, AUTH twice, ...).
    public static func badSequence(_ text: String = "Bad sequence of commands") -> SMTPReply {
        SMTPReply(code: 503, enhancedStatusCode: .init(5, 5, 1), text)
    }

    /// `555 5.5.4`: a MAIL or RCPT parameter the server does not support (RFC 5321 section 4.1.1.11).
    public static func unrecognizedParameter(_ keyword: String) -> SMTPReply {
        SMTPReply(code: 555, enhancedStatusCode: .init(5, 5, 4), "Unsupported parameter \(keyword)")
    }

    // MARK: - Mailboxes and content

    /// `550 5.1.1 No such user`
    public static let noSuchUser = SMTPReply(code: 550, enhancedStatusCode: .init(5, 1, 1), "No such user")

    /// `550 5.6.7`: a non-ASCII sender without SMTPUTF8 (RFC 6531 section 3.5).
    public static let nonASCIISenderNotPermitted = SMTPReply(
        code: 550, enhancedStatusCode: .init(5, 6, 7), "Non-ASCII addresses require the SMTPUTF8 parameter")

    /// `553 5.6.7`: a non-ASCII recipient in a transaction without SMTPUTF8 (RFC 6531 section 3.5).
    public static let nonASCIIRecipientNotPermitted = SMTPReply(
        code: 553, enhancedStatusCode: .init(5, 6, 7), "Non-ASCII addresses require the SMTPUTF8 parameter")

    /// `552 5.3.4`: the declared or received size is over the maximum (RFC 1870 section 6.1).
    public static func messageTooLarge(maximum: Int) -> SMTPReply {
        SMTPReply(code: 552, enhancedStatusCode: .init(5, 3, 4),
                  "Message size exceeds fixed maximum message size of \(maximum) bytes")
    }

    /// `552 5.2.2 Mailbox full`
    public static let mailboxFull = SMTPReply(code: 552, enhancedStatusCode: .init(5, 2, 2), "Mailbox full")

    /// `553 5.7.1 Sender address not allowed`: e.g. an authenticated user sending as someone else.
    public static let senderNotAllowed = SMTPReply(
        code: 553, enhancedStatusCode: .init(5, 7, 1), "Sender address not allowed")

    /// `554 5.5.0 Transaction failed`
    public static let transactionFailed = SMTPReply(
        code: 554, enhancedStatusCode: .init(5, 5, 0), "Transaction failed")
}
