/// A mailbox name as it travels on the wire (RFC 9051 section 5.1).
///
/// ```
/// mailbox = "INBOX" / astring
///             ; INBOX is case-insensitive. All case variants of INBOX (e.g., "iNbOx")
///             ; MUST be interpreted as INBOX not as an astring.
/// ```
/// The wire form is modified UTF-7 (RFC 3501 section 5.1.3) unless the client enabled
/// `UTF8=ACCEPT`/IMAP4rev2, in which case it may be UTF-8 directly; ``decoded()`` handles both.
public struct MailboxName: Hashable, Sendable, CustomStringConvertible {
    /// The name exactly as on the wire, with every case variant of INBOX folded to `INBOX`.
    public let wire: String

    public static let inbox = MailboxName(wire: "INBOX")

    public init(wire: String) {
        self.wire = wire.uppercased() == "INBOX" ? "INBOX" : wire
    }

    /// Builds the wire form of a Unicode name (modified UTF-7).
    public init(decoded name: String) {
        self.init(wire: ModifiedUTF7.encode(name))
    }

    public var isInbox: Bool { wire == "INBOX" }

    /// The Unicode name: modified UTF-7 decoded, or UTF-8 taken as is when it has 8-bit bytes.
    public func decoded() throws(ModifiedUTF7.DecodingError) -> String {
        if wire.utf8.contains(where: { $0 >= 0x80 }) { return wire }
        return try ModifiedUTF7.decode(wire)
    }

    public var description: String { wire }
}

extension MailboxName: ExpressibleByStringLiteral {
    /// A wire name: `let sent: MailboxName = "Sent"`.
    public init(stringLiteral value: String) {
        self.init(wire: value)
    }
}
