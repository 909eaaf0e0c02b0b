/// Why the parser rejected a command, and what the server should answer.
///
/// The parser has already resynchronised when it reports an error: the next call to
/// ``CommandParser/parse(_:)`` starts at the next command, unless ``closeConnection`` is true
/// (the parser cannot know where the rejected command ends): then the server sends the tagged
/// response, `* BYE`, and closes.
public struct CommandParseError: Error, Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// The bytes do not match the grammar.
        case badSyntax
        /// The command name is not one we know.
        case unknownCommand
        /// Line bytes of one command exceed ``IMAPLimits/maxCommandLineLength``.
        case lineTooLong
        /// Line and literal bytes of one command exceed ``IMAPLimits/maxCommandSize``.
        case commandTooLarge
        /// A non-APPEND literal exceeds ``IMAPLimits/maxLiteralSize``.
        case literalTooLarge
        /// An APPEND message exceeds ``IMAPLimits/maxAppendLiteralSize``.
        case appendTooLarge
        /// SEARCH nesting exceeds ``IMAPLimits/maxSearchNestingDepth``.
        case nestingTooDeep
        /// A sequence set, FETCH attribute list or other list has too many elements.
        case tooManyItems
    }

    /// The tag, when the bytes began with a valid one; nil means answer `* BAD`.
    public var tag: String?
    public var kind: Kind
    /// Human-readable text for the response.
    public var message: String
    /// True when the server must close after answering (see the table in ``IMAPLimits``).
    public var closeConnection: Bool

    public init(tag: String?, kind: Kind, message: String, closeConnection: Bool = false) {
        self.tag = tag
        self.kind = kind
        self.message = message
        self.closeConnection = closeConnection
    }

    /// `BAD`, except `NO` for an APPEND that is too large (RFC 7889: `NO [TOOBIG]`).
    public var responseState: ResponseState {
        kind == .appendTooLarge ? .no : .bad
    }

    /// `TOOBIG` for size bounds, `LIMIT` for count and depth bounds, none for syntax.
    public var responseCode: ResponseCode? {
        switch kind {
        case .badSyntax, .unknownCommand: return nil
        case .lineTooLong, .commandTooLarge, .literalTooLarge, .appendTooLarge: return .tooBig
        case .nestingTooDeep, .tooManyItems: return .limit
        }
    }

    /// Everything to send, in order: ``response``, then `* BYE` when the connection must close.
    ///
    /// ```
    /// S: a1 BAD [TOOBIG] Command line too long
    /// S: * BYE Closing connection
    /// ```
    public var responses: [Response] {
        guard closeConnection else { return [response] }
        return [response, .untagged(.bye(ResponseText(text: "Closing connection")))]
    }

    /// The response to send: tagged when the tag is known, untagged `BAD` otherwise.
    public var response: Response {
        let text = ResponseText(code: responseCode, text: message)
        if let tag {
            return .tagged(TaggedResponse(tag: tag, state: responseState, text: text))
        }
        return .untagged(.bad(text))
    }
}
