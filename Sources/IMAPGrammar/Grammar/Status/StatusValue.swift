/// A STATUS data item with its value, for the untagged STATUS response (RFC 9051 section 7.2.4).
///
/// ```
/// status-att-val = ("MESSAGES" SP number) / ("UIDNEXT" SP nz-number) / ("UIDVALIDITY" SP nz-number)
///                  / ("UNSEEN" SP number) / ("DELETED" SP number) / ("SIZE" SP number64) / ...
///                  / ("MAILBOXID" SP "(" objectid ")")
/// ```
public struct StatusValue: Hashable, Sendable {
    public var attribute: StatusAttribute
    public var value: UInt64
    /// The object id, for `MAILBOXID` (RFC 8474 4), which is not a number.
    public var objectID: String?

    public init(_ attribute: StatusAttribute, _ value: UInt64) {
        self.attribute = attribute
        self.value = value
    }

    public init(mailboxID: String) {
        attribute = .mailboxID
        value = 0
        objectID = mailboxID
    }

    func write(into writer: inout ResponseWriter) {
        writer.writeString(attribute.rawValue)
        if let objectID {
            writer.writeString(" (\(objectID))")
        } else {
            writer.writeString(" \(value)")
        }
    }
}
