/// A reverse-path or forward-path: the mailbox of MAIL FROM or RCPT TO (RFC 5321 section 4.1.2).
///
/// ```
/// Path         = "<" [ A-d-l ":" ] Mailbox ">"
/// A-d-l        = At-domain *( "," At-domain )    ; source route: accepted and discarded
/// At-domain    = "@" Domain
/// Reverse-path = Path / "<>"                      ; "<>" is nil in SMTPCommand.mailFrom
/// Forward-path = Path / "<Postmaster>"            ; RCPT only, case-insensitive
/// ```
/// Source routes are parsed for syntax and dropped, as RFC 5321 section 4.1.1.3 and
/// appendix C tell servers to: `<@a.example,@b.example:user@c.example>` is `user@c.example`.
public enum SMTPPath: Hashable, Sendable, CustomStringConvertible {
    case mailbox(SMTPAddress)
    /// `<Postmaster>` without a domain, which every server must accept for RCPT
    /// (RFC 5321 section 4.5.1); it means the postmaster of the receiving host.
    case postmaster

    /// Parses `<...>`, including `<Postmaster>` but not the null path `<>`.
    public init(parsing text: String, limits: SMTPLimits = .default) throws(SMTPAddressError) {
        var cursor = SMTPCursor(text.utf8, limits: limits)
        let path = try cursor.forwardPath()
        guard cursor.isAtEnd else { throw .syntax("unexpected characters after the path") }
        self = path
    }

    /// The mailbox, nil for `<Postmaster>`.
    public var address: SMTPAddress? {
        if case .mailbox(let address) = self { return address }
        return nil
    }

    /// True when the mailbox holds non-ASCII characters (see ``SMTPAddress/needsSMTPUTF8``).
    public var needsSMTPUTF8: Bool {
        address?.needsSMTPUTF8 ?? false
    }

    /// `<local-part@domain>` or `<Postmaster>`.
    public var description: String {
        switch self {
        case .mailbox(let address): return "<\(address)>"
        case .postmaster: return "<Postmaster>"
        }
    }
}
