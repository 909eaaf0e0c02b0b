import NIOCore

/// One SMTP command line (RFC 5321 section 4.1.1 and the extensions in this module).
///
/// ```
/// ehlo     = "EHLO" SP ( Domain / address-literal ) CRLF
/// helo     = "HELO" SP Domain CRLF
/// mail     = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
/// rcpt     = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
///            [SP Rcpt-parameters] CRLF
/// data     = "DATA" CRLF
/// bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CRLF        ; RFC 3030
/// rset     = "RSET" CRLF
/// noop     = "NOOP" [ SP String ] CRLF
/// quit     = "QUIT" CRLF
/// vrfy     = "VRFY" SP String CRLF
/// expn     = "EXPN" SP String CRLF
/// help     = "HELP" [ SP String ] CRLF
/// starttls = "STARTTLS" CRLF                                   ; RFC 3207
/// auth     = "AUTH" SP sasl-mech [SP initial-response] CRLF    ; RFC 4954
/// ```
///
/// Parse lines with ``SMTPCommandParser``; a client writes commands with ``write(into:)``.
public enum SMTPCommand: Hashable, Sendable {
    /// The client's identity as sent: a domain or address literal, not validated further
    /// because RFC 5321 section 4.1.4 forbids refusing mail over a wrong EHLO name and deployed
    /// clients send names outside the grammar (underscores, bare IP addresses). Validate it with
    /// ``SMTPDomain/init(parsing:)`` when policy wants to.
    case ehlo(String)
    /// See ``ehlo(_:)``.
    case helo(String)
    /// `MAIL FROM:<path> params`; the reverse path is nil for the null path `<>` (bounces).
    case mailFrom(reversePath: SMTPPath?, parameters: MailParameters)
    /// `RCPT TO:<path> params`.
    case rcptTo(forwardPath: SMTPPath, parameters: RcptParameters)
    case data
    /// `BDAT size [LAST]` (RFC 3030): exactly `size` octets of content follow the line.
    case bdat(size: Int, last: Bool)
    case rset
    /// Arguments of NOOP are allowed and ignored (RFC 5321 section 4.1.1.9).
    case noop
    case quit
    /// The argument as sent (a user name, a mailbox, or both; RFC 5321 section 3.5).
    case vrfy(String)
    /// The argument as sent (a mailing list name; RFC 5321 section 3.5).
    case expn(String)
    case help(String?)
    case startTLS
    /// The mechanism name upper-cased; whether the server offers it is the session's decision
    /// (`504 5.5.4` otherwise, ``SMTPReply/unrecognizedAuthenticationMechanism``).
    case auth(mechanism: String, initialResponse: SASL.InitialResponse?)
}

extension SMTPCommand {
    /// The command verb, for logs and state checks; never includes arguments, so an AUTH
    /// initial response cannot leak into a log through it.
    public var verb: String {
        switch self {
        case .ehlo: return "EHLO"
        case .helo: return "HELO"
        case .mailFrom: return "MAIL"
        case .rcptTo: return "RCPT"
        case .data: return "DATA"
        case .bdat: return "BDAT"
        case .rset: return "RSET"
        case .noop: return "NOOP"
        case .quit: return "QUIT"
        case .vrfy: return "VRFY"
        case .expn: return "EXPN"
        case .help: return "HELP"
        case .startTLS: return "STARTTLS"
        case .auth: return "AUTH"
        }
    }

    /// Writes the command line and its CRLF, as a client sends it.
    ///
    /// ```
    /// var buffer = ByteBuffer()
    /// SMTPCommand.bdat(size: 86, last: true).write(into: &buffer)   // "BDAT 86 LAST\r\n"
    /// ```
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .ehlo(let identity):
            buffer.writeString("EHLO \(identity)")
        case .helo(let identity):
            buffer.writeString("HELO \(identity)")
        case .mailFrom(let path, let parameters):
            buffer.writeString("MAIL FROM:\(path?.description ?? "<>")")
            parameters.write(into: &buffer)
        case .rcptTo(let path, let parameters):
            buffer.writeString("RCPT TO:\(path.description)")
            parameters.write(into: &buffer)
        case .data:
            buffer.writeString("DATA")
        case .bdat(let size, let last):
            buffer.writeString(last ? "BDAT \(size) LAST" : "BDAT \(size)")
        case .rset:
            buffer.writeString("RSET")
        case .noop:
            buffer.writeString("NOOP")
        case .quit:
            buffer.writeString("QUIT")
        case .vrfy(let argument):
            buffer.writeString("VRFY \(argument)")
        case .expn(let argument):
            buffer.writeString("EXPN \(argument)")
        case .help(let topic):
            buffer.writeString(topic.map { "HELP \($0)" } ?? "HELP")
        case .startTLS:
            buffer.writeString("STARTTLS")
        case .auth(let mechanism, let initialResponse):
            buffer.writeString("AUTH \(mechanism)")
            if let initialResponse {
                buffer.writeString(" \(initialResponse.wireForm)")
            }
        }
        buffer.writeString("\r\n")
    }
}
