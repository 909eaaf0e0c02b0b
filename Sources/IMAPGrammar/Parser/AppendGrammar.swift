/// APPEND (RFC 9051 section 6.3.12, RFC 3502 MULTIAPPEND, RFC 3516 BINARY). The framer in
/// ``CommandParser`` uses these rules on the bytes before a message literal, then streams it.
extension GrammarCursor {
    /// The size marker of a literal or literal8 that ends a line.
    struct LiteralMarker: Equatable {
        var size: UInt64
        var synchronizing: Bool
        var binary: Bool
        /// Index of `{` (or `~`) in the command bytes.
        var start: Int
    }

    // append = "APPEND" SP mailbox 1*append-message   (the first part, up to the first message)
    // Returns nil when the command is not `tag APPEND mailbox`.
    mutating func appendHead() throws(GrammarError) -> (tag: String, mailbox: MailboxName) {
        let tag = try self.tag()
        try space()
        guard keyword() == "APPEND" else { throw .syntax("not APPEND") }
        try space()
        return (tag, try mailbox())
    }

    // append-message = [SP flag-list] [SP date-time] SP append-data
    // append-data    = literal / literal8         ; literal8 = "~{" number64 "}" CRLF *OCTET
    // Parses up to the literal marker, which must start at `marker.start`.
    mutating func appendMessageHead(marker: LiteralMarker) throws(GrammarError) -> AppendMessage {
        try space()
        var message = AppendMessage(size: Int(marker.size), isBinary: marker.binary, isSynchronizing: marker.synchronizing)
        if peek() == 0x28 {
            message.flags = try flagList()
            try space()
        }
        if peek() == 0x22 {
            message.internalDate = try dateTime()
            try space()
        }
        guard index == marker.start else { throw .syntax("expected a message literal") }
        return message
    }
}
