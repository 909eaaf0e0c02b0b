/// A FETCH data item (RFC 9051 section 6.4.5, RFC 3501, RFC 3516 BINARY, RFC 7162 MODSEQ, RFC 8474
/// EMAILID and THREADID).
///
/// ```
/// fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
///             "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial] /
///             "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary / "MODSEQ" /
///             "EMAILID" / "THREADID" / "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]
/// preview-mod = "LAZY"                                                              (RFC 8970)
/// ```
/// The macros ALL, FAST and FULL are expanded by the parser (RFC 9051 section 6.4.5).
public enum FetchAttribute: Hashable, Sendable {
    case envelope
    case flags
    case internalDate
    case rfc822
    case rfc822Header
    case rfc822Size
    case rfc822Text
    /// `BODY` (false) or `BODYSTRUCTURE` (true).
    case bodyStructure(extensible: Bool)
    case uid
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    case body(section: SectionSpecifier, partial: Partial?, peek: Bool)
    /// `BINARY[1.2]<partial>` or `BINARY.PEEK[...]`; the section is part numbers only.
    /// The section as BODY names it: part numbers are decoded; HEADER, TEXT and MIME are sent as
    /// stored, having no transfer encoding of their own (a leniency other servers share).
    case binary(section: SectionSpecifier, partial: Partial?, peek: Bool)
    case binarySize(section: SectionSpecifier)
    case modSeq
    case emailID
    case threadID
    /// `PREVIEW`, or `PREVIEW (LAZY)`: the server may answer NIL rather than work for it (RFC 8970 3.1).
    case preview(lazy: Bool)
    /// `SAVEDATE` (RFC 8514 4.1): when the message was saved in this mailbox.
    case saveDate

    /// `FAST` = `(FLAGS INTERNALDATE RFC822.SIZE)`
    public static let fast: [FetchAttribute] = [.flags, .internalDate, .rfc822Size]
    /// `ALL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`
    public static let all: [FetchAttribute] = [.flags, .internalDate, .rfc822Size, .envelope]
    /// `FULL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`
    public static let full: [FetchAttribute] = [.flags, .internalDate, .rfc822Size, .envelope, .bodyStructure(extensible: false)]

    /// True when fetching this item sets `\Seen` (RFC 9051 section 6.4.5).
    public var setsSeen: Bool {
        switch self {
        case .rfc822, .rfc822Text: return true
        case .body(_, _, let peek), .binary(_, _, let peek): return !peek
        default: return false
        }
    }
}
