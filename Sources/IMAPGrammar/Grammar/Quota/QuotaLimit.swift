/// One resource limit of SETQUOTA (RFC 9208 section 4.1.3).
///
/// ```
/// setquota-resource = resource-name SP resource-limit
/// resource-name     = "STORAGE" / "MESSAGE" / "MAILBOX" / "ANNOTATION-STORAGE" / resource-name-ext
/// resource-limit    = number64
/// ```
public struct QuotaLimit: Hashable, Sendable {
    /// Upper-cased resource name.
    public var resource: String
    public var limit: UInt64

    public init(resource: String, limit: UInt64) {
        self.resource = resource
        self.limit = limit
    }
}
