/// A mailbox: `local-part@domain` (RFC 5321 section 4.1.2, RFC 6531 section 3.3).
///
/// ```
/// Mailbox        = Local-part "@" ( Domain / address-literal )
/// Local-part     = Dot-string / Quoted-string
/// Dot-string     = Atom *("." Atom)
/// Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
/// QcontentSMTP   = qtextSMTP / quoted-pairSMTP
/// quoted-pairSMTP = %d92 %d32-126
/// qtextSMTP      = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
/// atext          =/ UTF8-non-ascii
/// ```
/// ```
/// let address = try SMTPAddress(parsing: "\"john doe\"@example.com")
/// address.localPart      // "john doe"
/// address.description    // "\"john doe\"@example.com"
/// ```
public struct SMTPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The local part with the quoting removed: the quotes are not part of a quoted string
    /// (RFC 5322 section 3.2.4), so `"a.b"@x` and `a.b@x` both have local part `a.b`. Case is
    /// preserved: local parts are case-sensitive unless the receiving host decides otherwise
    /// (RFC 5321 section 2.4).
    public var localPart: String
    public var domain: SMTPDomain

    /// An address from parts the program trusts; use ``init(parsing:limits:)`` for text from
    /// the network or from users.
    public init(localPart: String, domain: SMTPDomain) {
        self.localPart = localPart
        self.domain = domain
    }

    /// Parses `local-part@domain`, without angle brackets.
    public init(parsing text: String, limits: SMTPLimits = .default) throws(SMTPAddressError) {
        var cursor = SMTPCursor(text.utf8, limits: limits)
        let address = try cursor.mailbox()
        guard cursor.isAtEnd else { throw .syntax("unexpected characters after the address") }
        self = address
    }

    /// True when the local part or the domain holds non-ASCII characters (RFC 6531 section 3.3):
    /// such an address may only travel in a transaction whose MAIL carried `SMTPUTF8`.
    public var needsSMTPUTF8: Bool {
        localPart.utf8.contains { $0 >= 0x80 } || domain.needsSMTPUTF8
    }

    /// The local part as it must be written: a dot-string when it is one, otherwise quoted
    /// with `"` and `\` escaped.
    public var wireLocalPart: String {
        if Self.isDotString(localPart) { return localPart }
        var quoted = "\""
        for scalar in localPart.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { quoted.append("\\") }
            quoted.unicodeScalars.append(scalar)
        }
        quoted.append("\"")
        return quoted
    }

    /// `local-part@domain` in wire form.
    public var description: String {
        "\(wireLocalPart)@\(domain)"
    }

    static func isDotString(_ text: String) -> Bool {
        var cursor = SMTPCursor(text.utf8, limits: .default)
        guard (try? cursor.dotString()) != nil else { return false }
        return cursor.isAtEnd
    }
}
