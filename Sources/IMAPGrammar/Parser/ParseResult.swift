import NIOCore

/// One outcome of ``CommandParser/parse(_:)``. The caller loops until `.needsMoreData`.
///
/// APPEND is streamed (RFC 9051 section 6.3.12):
/// ```
/// C: A003 APPEND saved-messages (\Seen) {310}
///    -> .appendStart(tag: "A003", mailbox: saved-messages)
///    -> .appendBeginMessage(flags: [\Seen], size: 310, isSynchronizing: true)
///    -> .needsContinuation(literalSize: 310)          server: "+ Ready for literal data"
/// C: Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST) ...
///    -> .appendData(slice) ... .appendData(slice)     (310 bytes in total, zero-copy slices)
///    -> .appendEndMessage
/// C: <CRLF>
///    -> .appendFinish                                 server: "A003 OK APPEND completed"
/// ```
/// With MULTIAPPEND (RFC 3502) more `.appendBeginMessage` ... `.appendEndMessage` groups follow
/// before `.appendFinish`. With `{310+}` (LITERAL+) there is no `.needsContinuation`.
public enum ParseResult: Hashable, Sendable {
    /// A complete command.
    case command(TaggedCommand)
    /// Feed more bytes.
    case needsMoreData
    /// A synchronizing literal was announced: send `+ Ready` (or reject the command, then call
    /// ``CommandParser/rejectPendingLiteral()``), then feed more bytes.
    case needsContinuation(literalSize: Int)
    /// The command is rejected; see ``CommandParseError``.
    case error(CommandParseError)

    /// An APPEND began: `tag APPEND mailbox`.
    case appendStart(tag: String, mailbox: MailboxName)
    /// One message of the APPEND begins; its bytes follow.
    case appendBeginMessage(AppendMessage)
    /// A chunk of the message's bytes, a slice of the caller's buffer.
    case appendData(ByteBuffer)
    /// All bytes of the current message were delivered.
    case appendEndMessage
    /// The APPEND command line ended (CRLF): the server may now store and answer.
    case appendFinish

    /// `DONE` ended IDLE (RFC 2177); the parser is back in command mode.
    case idleDone
    /// A line of an AUTHENTICATE exchange.
    case authenticationResponse(AuthenticationResponse)
}
