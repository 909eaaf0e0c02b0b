/// One IMAP METADATA entry of a mailbox or of the grant itself (RFC 5464): a lower-case name such as
/// `/private/comment` and its bytes. A nil value, when writing, removes the entry.
public struct MailboxAnnotation: Hashable, Sendable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}
