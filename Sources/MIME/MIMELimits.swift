/// The bounds the parser keeps to, whatever the input.
///
/// Past a bound the parser stops descending (or stops collecting) and still describes the
/// message: a multipart or message part deeper than `maximumNestingDepth`, or met after
/// `maximumPartCount` parts exist, becomes a leaf of type `application/octet-stream` whose body
/// is the part's whole body; header fields past `maximumHeaderFieldCount` stay inside the
/// header's byte range (so `BODY[HEADER]` still returns them) but are not indexed.
public enum MIMELimits {
    /// Multipart and message/rfc822 levels below the top-level message.
    /// Scanning cost is at most this many passes over the bytes, so it bounds time too.
    public static let maximumNestingDepth = 50
    /// Parts of every kind (the top-level message counts as one).
    public static let maximumPartCount = 10_000
    /// Header fields indexed per header block.
    public static let maximumHeaderFieldCount = 1_000
    /// Header fields indexed in the whole message, all parts together: with the per-block limit
    /// alone, 10,000 parts of 1,000 tiny fields would index 10 million fields (about 480 MB).
    public static let maximumTotalHeaderFieldCount = 100_000
    /// Addresses taken from one address header; a list bomb cannot grow the summary further.
    public static let maximumAddressCount = 1_000
    /// Identifiers taken from one References / In-Reply-To field.
    public static let maximumMessageIDCount = 500
    /// Characters of visible text kept in a snippet.
    public static let snippetLength = 200
    /// Octets of a line the builder writes, CRLF excluded (RFC 5322 section 2.1.1).
    public static let maximumLineLength = 998
    /// Encoded words decoded in one header value; the rest stay as written.
    public static let maximumEncodedWordCount = 1_000
}
