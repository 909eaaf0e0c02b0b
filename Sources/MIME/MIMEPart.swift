/// One node of a message's MIME tree (RFC 2045, 2046), described by byte ranges into the raw
/// message: nothing of the body is copied.
///
/// The top-level message is a part too (its `sectionPath` is empty). A message/rfc822 part holds
/// the encapsulated message as `embeddedMessage`, a part whose header is that message's header
/// and whose `sectionPath` equals the enclosing part's, as IMAP numbers it (RFC 3501 6.4.5).
public struct MIMEPart: Sendable, Hashable {
    /// The header block including its terminating blank line (empty for a part with no header).
    public var headerRange: Range<Int>
    /// The body: for a multipart child, up to but not including the line break before the next
    /// delimiter (RFC 2046 5.1.1: that line break belongs to the delimiter).
    public var bodyRange: Range<Int>
    /// The indexed header fields, in message order.
    public var headers: [HeaderField]
    /// The effective content type: the header's, or the default for where the part sits.
    public var contentType: ContentType
    /// False when `contentType` is a default (no header, or one we could not read).
    public var hasExplicitContentType: Bool
    /// The Content-Transfer-Encoding value, lowercased, nil when absent (meaning 7bit).
    public var contentTransferEncoding: String?
    /// The Content-Transfer-Encoding as the message wrote it (BODYSTRUCTURE reports it so).
    public var writtenTransferEncoding: String? = nil
    /// The raw (unfolded, undecoded) values of the other MIME header fields, as IMAP reports them.
    public var contentID: String?
    public var contentDescription: String?
    public var contentDisposition: ContentDisposition?
    public var contentLanguage: [String]
    public var contentLocation: String?
    public var contentMD5: String?
    /// Lines in the body (RFC 3501 body-fld-lines); computed for text/* and message/* parts, 0 for others.
    public var lineCount: Int
    /// The body parts of a multipart, in order.
    public var children: [MIMEPart]
    /// Storage for `embeddedMessage` (an array because a struct cannot contain itself directly).
    var embeddedStorage: [MIMEPart]
    /// IMAP section numbers of this part: [] for the top-level message, [2, 1] for "2.1".
    public var sectionPath: [Int]
    /// Levels of multipart or message nesting above this part.
    public var depth: Int
    /// True when a limit in `MIMELimits` stopped the parser here: the part is then described as
    /// `application/octet-stream` and its body holds what was not descended into.
    public var wasTruncated: Bool

    /// For message/rfc822 (and message/global): the encapsulated message.
    public var embeddedMessage: MIMEPart? { embeddedStorage.first }
    public var isMultipart: Bool { contentType.isMultipart }
    /// The encoded size in octets (RFC 3501 body-fld-octets).
    public var size: Int { bodyRange.count }
    /// The section number as IMAP writes it ("" for the top-level message).
    public var section: String { sectionPath.map(String.init).joined(separator: ".") }
    /// The file name: Content-Disposition `filename`, else Content-Type `name` (RFC 2231 and
    /// RFC 2047 forms decoded).
    public var filename: String? {
        if let name = contentDisposition?.filename, !name.isEmpty { return name }
        if let name = contentType.parameter("name"), !name.isEmpty { return name }
        return nil
    }

    /// Every part below this one, depth first, embedded messages included.
    public var descendants: [MIMEPart] {
        var result: [MIMEPart] = []
        func visit(_ part: MIMEPart) {
            for child in part.children { result.append(child); visit(child) }
            if let embedded = part.embeddedMessage { result.append(embedded); visit(embedded) }
        }
        visit(self)
        return result
    }
}
