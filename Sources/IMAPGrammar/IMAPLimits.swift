/// Every bound the IMAP grammar enforces, in one place.
///
/// A hostile client cannot make ``CommandParser`` buffer more than these limits allow. Each bound
/// maps to one ``CommandParseError/Kind`` and to the response the server should send (see
/// ``CommandParseError/responseState``, ``CommandParseError/responseCode`` and
/// ``CommandParseError/closeConnection``):
///
/// | bound | exceeded by | server answers |
/// | --- | --- | --- |
/// | ``maxCommandLineLength`` | line bytes of one command (outside literals) | `tag BAD [TOOBIG]` + `* BYE`, close |
/// | ``maxCommandSize`` | line bytes + literal bytes of one command | sync literal: `tag BAD [TOOBIG]`; otherwise + `* BYE`, close |
/// | ``maxLiteralSize`` | one literal of a command other than APPEND | sync: `tag BAD [TOOBIG]`; `{n+}`: + `* BYE`, close |
/// | ``maxAppendLiteralSize`` | one APPEND message literal | sync: `tag NO [TOOBIG]`; `{n+}`: + `* BYE`, close |
/// | ``maxSearchNestingDepth`` | parentheses / NOT / OR nesting in SEARCH | `tag BAD [LIMIT]` |
/// | ``maxSequenceSetRanges`` | ranges in one sequence set | `tag BAD [LIMIT]` |
/// | ``maxFetchAttributes`` | attributes in one FETCH | `tag BAD [LIMIT]` |
/// | ``maxListItems`` | items in any other parenthesised list (flags, patterns, ID pairs, ...) | `tag BAD [LIMIT]` |
public struct IMAPLimits: Hashable, Sendable {
    /// Bytes of one command outside its literals, CRLFs and literal markers included.
    public var maxCommandLineLength: Int
    /// Bytes of one command including every non-APPEND literal.
    public var maxCommandSize: Int
    /// Bytes of one literal in any command but APPEND (LOGIN passwords, SEARCH strings, ...).
    public var maxLiteralSize: Int
    /// Bytes of one APPEND message (the server passes its message size limit, e.g. 25 MB).
    public var maxAppendLiteralSize: Int
    /// Depth of nested parentheses, NOT and OR in a SEARCH program.
    public var maxSearchNestingDepth: Int
    /// Ranges (comma-separated elements) in one sequence set.
    public var maxSequenceSetRanges: Int
    /// Attributes in one FETCH command (macros count as one).
    public var maxFetchAttributes: Int
    /// Elements of any other parenthesised list.
    public var maxListItems: Int

    public static let defaultMaxCommandLineLength = 65_536
    public static let defaultMaxCommandSize = 1_048_576
    public static let defaultMaxLiteralSize = 65_536
    public static let defaultMaxAppendLiteralSize = 25 * 1024 * 1024
    public static let defaultMaxSearchNestingDepth = 32
    public static let defaultMaxSequenceSetRanges = 4_096
    public static let defaultMaxFetchAttributes = 64
    public static let defaultMaxListItems = 1_024

    public init(
        maxCommandLineLength: Int = IMAPLimits.defaultMaxCommandLineLength,
        maxCommandSize: Int = IMAPLimits.defaultMaxCommandSize,
        maxLiteralSize: Int = IMAPLimits.defaultMaxLiteralSize,
        maxAppendLiteralSize: Int = IMAPLimits.defaultMaxAppendLiteralSize,
        maxSearchNestingDepth: Int = IMAPLimits.defaultMaxSearchNestingDepth,
        maxSequenceSetRanges: Int = IMAPLimits.defaultMaxSequenceSetRanges,
        maxFetchAttributes: Int = IMAPLimits.defaultMaxFetchAttributes,
        maxListItems: Int = IMAPLimits.defaultMaxListItems
    ) {
        self.maxCommandLineLength = maxCommandLineLength
        self.maxCommandSize = maxCommandSize
        self.maxLiteralSize = maxLiteralSize
        self.maxAppendLiteralSize = maxAppendLiteralSize
        self.maxSearchNestingDepth = maxSearchNestingDepth
        self.maxSequenceSetRanges = maxSequenceSetRanges
        self.maxFetchAttributes = maxFetchAttributes
        self.maxListItems = maxListItems
    }

    public static let `default` = IMAPLimits()
}
