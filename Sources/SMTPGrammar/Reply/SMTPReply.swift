/// A server reply: a three-digit code, an optional enhanced status code, and one or more lines
/// of text (RFC 5321 section 4.2, RFC 2034, RFC 3463).
///
/// ```
/// S: 250-foo.com greets bar.com
/// S: 250-8BITMIME
/// S: 250 HELP
/// -> SMTPReply(code: 250, lines: ["foo.com greets bar.com", "8BITMIME", "HELP"])
/// ```
/// Servers build replies with the constructors in `SMTPReply+Common.swift` and send them with
/// ``SMTPReplyWriter``; clients read them with ``SMTPReplyParser``.
public struct SMTPReply: Hashable, Sendable {
    /// 200 to 599; the first digit is the ``category``.
    public var code: Int
    /// Written at the start of every line when present (RFC 2034 section 4).
    public var enhancedStatusCode: SMTPEnhancedStatusCode?
    /// At least one line; the writer removes CR, LF and other control characters.
    public var lines: [String]

    public init(code: Int, enhancedStatusCode: SMTPEnhancedStatusCode? = nil, lines: [String]) {
        precondition((200...599).contains(code), "SMTP reply codes are 2yz to 5yz")
        self.code = code
        self.enhancedStatusCode = enhancedStatusCode
        self.lines = lines.isEmpty ? [""] : lines
    }

    public init(code: Int, enhancedStatusCode: SMTPEnhancedStatusCode? = nil, _ text: String) {
        self.init(code: code, enhancedStatusCode: enhancedStatusCode, lines: [text])
    }

    /// The lines joined by newlines.
    public var text: String {
        lines.joined(separator: "\n")
    }

    /// What the first digit says (RFC 5321 section 4.2.1).
    public enum Category: Hashable, Sendable {
        /// 2yz: the action completed.
        case positiveCompletion
        /// 3yz: send more (354 after DATA, 334 during AUTH).
        case positiveIntermediate
        /// 4yz: failed this time; trying again later may succeed.
        case transientNegative
        /// 5yz: failed; the same command will fail again.
        case permanentNegative
    }

    public var category: Category {
        switch code / 100 {
        case 2: return .positiveCompletion
        case 3: return .positiveIntermediate
        case 4: return .transientNegative
        default: return .permanentNegative
        }
    }
}

/// An error that knows the reply a server sends for it.
public protocol SMTPReplyConvertible: Error {
    var reply: SMTPReply { get }
}
