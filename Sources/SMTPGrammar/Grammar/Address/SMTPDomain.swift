/// The domain of an address, or of EHLO: a name or an address literal (RFC 5321 section 4.1.3).
///
/// ```
/// Domain          = sub-domain *("." sub-domain)
/// sub-domain      = Let-dig [Ldh-str] / U-label          ; U-label: RFC 6531 section 3.3
/// address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
///                         General-address-literal ) "]"
/// ```
/// U-labels are accepted as any well-formed non-ASCII UTF-8 in a label; IDNA validity
/// (RFC 5890) is for whoever looks the name up.
public enum SMTPDomain: Hashable, Sendable, CustomStringConvertible {
    /// A domain name as sent, e.g. `example.com` or `例子.广告`.
    case name(String)
    /// `[192.0.2.1]`, stored without brackets.
    case ipv4(String)
    /// `[IPv6:2001:db8::1]`, stored without brackets and tag.
    case ipv6(String)
    /// `[tag:content]` for any other standardized tag.
    case general(tag: String, content: String)

    /// Parses a domain name or address literal, e.g. a configured host name or an EHLO argument.
    public init(parsing text: String, limits: SMTPLimits = .default) throws(SMTPAddressError) {
        var cursor = SMTPCursor(text.utf8, limits: limits)
        let domain = try cursor.domainOrAddressLiteral()
        guard cursor.isAtEnd else { throw .syntax("unexpected characters after the domain") }
        self = domain
    }

    /// The wire form: the name, or the literal with its brackets.
    public var description: String {
        switch self {
        case .name(let name): return name
        case .ipv4(let address): return "[\(address)]"
        case .ipv6(let address): return "[IPv6:\(address)]"
        case .general(let tag, let content): return "[\(tag):\(content)]"
        }
    }

    public var isAddressLiteral: Bool {
        if case .name = self { return false }
        return true
    }

    /// True when the name holds U-labels, which only an SMTPUTF8 transaction may carry.
    public var needsSMTPUTF8: Bool {
        if case .name(let name) = self { return name.utf8.contains { $0 >= 0x80 } }
        return false
    }
}
