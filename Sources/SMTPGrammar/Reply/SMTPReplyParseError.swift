/// Why a client could not read a server's reply. After any of these the client cannot tell
/// where the next reply starts and should close the connection.
public struct SMTPReplyParseError: Error, Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A line does not start with a reply code followed by `-`, SP or the line end.
        case malformedLine
        /// A continuation line has a different code from the first line.
        case inconsistentCode
        /// A line exceeds ``SMTPLimits/maxReplyLineLength``.
        case lineTooLong
        /// The reply has more than ``SMTPLimits/maxReplyLines`` lines.
        case tooManyLines
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
