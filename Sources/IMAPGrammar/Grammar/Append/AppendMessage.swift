/// The metadata of one message of an APPEND (RFC 9051 section 6.3.12, RFC 3502 MULTIAPPEND,
/// RFC 3516 BINARY), delivered by ``ParseResult/appendBeginMessage(_:)`` before its bytes.
///
/// ```
/// append     = "APPEND" SP mailbox 1*append-message
/// append-message = [SP flag-list] [SP date-time] SP append-data
/// append-data = literal / literal8
/// ```
public struct AppendMessage: Hashable, Sendable {
    public var flags: [Flag]
    public var internalDate: IMAPDateTime?
    /// The literal's size in bytes.
    public var size: Int
    /// `~{n}`: literal8, the message may contain NUL (BINARY).
    public var isBinary: Bool
    /// `{n}`: the client waits for a continuation request before sending the bytes.
    public var isSynchronizing: Bool

    public init(flags: [Flag] = [], internalDate: IMAPDateTime? = nil, size: Int, isBinary: Bool = false, isSynchronizing: Bool = true) {
        self.flags = flags
        self.internalDate = internalDate
        self.size = size
        self.isBinary = isBinary
        self.isSynchronizing = isSynchronizing
    }
}
