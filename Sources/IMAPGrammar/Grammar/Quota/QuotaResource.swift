/// One resource of an untagged QUOTA response (RFC 9208 section 5.1).
///
/// ```
/// quota-resource = resource-name SP resource-usage SP resource-limit
/// ```
/// `S: * QUOTA "" (STORAGE 10 512)` (STORAGE counts units of 1024 octets).
public struct QuotaResource: Hashable, Sendable {
    public var name: String
    public var usage: UInt64
    public var limit: UInt64

    public init(name: String, usage: UInt64, limit: UInt64) {
        self.name = name
        self.usage = usage
        self.limit = limit
    }
}
