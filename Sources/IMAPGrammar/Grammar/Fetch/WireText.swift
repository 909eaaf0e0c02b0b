/// Bytes that are already IMAP syntax, written as they are: the ENVELOPE and BODYSTRUCTURE
/// values the MIME layer precomputes (RFC 9051 section 7.5.2).
public struct WireText: Hashable, Sendable, ExpressibleByStringLiteral {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init(_ text: String) {
        self.bytes = Array(text.utf8)
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }
}
