/// One MAIL or RCPT parameter the grammar does not know (RFC 5321 section 4.1.2), kept in the
/// order sent so the session can refuse it with `555 5.5.4` (``SMTPReply/unrecognizedParameter(_:)``).
///
/// ```
/// esmtp-param   = esmtp-keyword ["=" esmtp-value]
/// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
/// esmtp-value   = 1*(%d33-60 / %d62-126)     ; and UTF8-non-ascii, RFC 6531 section 3.3
/// ```
public struct ESMTPParameter: Hashable, Sendable {
    /// Upper-cased, since keywords are case-insensitive.
    public var keyword: String
    /// As sent; nil when the parameter had no `=value`.
    public var value: String?

    public init(keyword: String, value: String? = nil) {
        self.keyword = keyword
        self.value = value
    }

    /// `KEYWORD` or `KEYWORD=value`.
    public var wireForm: String {
        value.map { "\(keyword)=\($0)" } ?? keyword
    }
}
