/// Why a path, mailbox or domain was refused; the command parser turns it into a `501` with
/// `5.1.7` (sender) or `5.1.3` (recipient) whose text names the reason.
public struct SMTPAddressError: Error, Hashable, Sendable {
    public enum Reason: Hashable, Sendable {
        /// The text does not match the grammar of RFC 5321 section 4.1.2 (with RFC 6531's UTF-8).
        case syntax
        /// The local part exceeds ``SMTPLimits/maxLocalPartLength``.
        case localPartTooLong
        /// The domain exceeds ``SMTPLimits/maxDomainLength``.
        case domainTooLong
        /// The whole path exceeds ``SMTPLimits/maxPathLength``.
        case pathTooLong
    }

    public var reason: Reason
    /// Human-readable detail for the reply text, e.g. `local part longer than 64 octets`.
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    static func syntax(_ message: String) -> SMTPAddressError {
        SMTPAddressError(.syntax, message)
    }
}
