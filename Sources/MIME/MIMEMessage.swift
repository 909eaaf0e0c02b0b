/// A parsed Internet message (RFC 5322 with MIME, RFC 2045-2049): the raw bytes plus a tree of
/// parts that point into them.
///
/// ```swift
/// let message = MIMEMessage.parse(rawBytes)       // never throws; malformed input degrades
/// message.root.children.count
/// message.bodyStructure(extensible: true)         // IMAP BODYSTRUCTURE
/// message.bytes(for: SectionSpec(path: [1], text: .mime))
/// ```
public struct MIMEMessage: Sendable {
    /// The raw message, shared (copy on write), never copied by the parser.
    public let bytes: [UInt8]
    /// The top-level part: its header is the message header.
    public let root: MIMEPart

    public init(parsing bytes: [UInt8]) {
        self.bytes = bytes
        var parser = MIMEParser(bytes: bytes)
        self.root = parser.parseMessage()
    }

    public static func parse(_ bytes: [UInt8]) -> MIMEMessage {
        MIMEMessage(parsing: bytes)
    }

    /// The message size in octets (RFC822.SIZE).
    public var size: Int { bytes.count }

    // MARK: Header access

    /// The fields called `name` (case-insensitive) in `part`'s header (the message header by default).
    public func fields(named name: String, in part: MIMEPart? = nil) -> [HeaderField] {
        (part ?? root).headers.filter { $0.hasName(name) }
    }

    /// The field value unfolded, as written (8-bit bytes read as UTF-8 when valid, else Latin-1).
    public func rawValue(of field: HeaderField) -> String {
        textFromHeaderBytes(HeaderScanner.unfold(bytes[field.valueRange]))
    }

    /// The field value unfolded with RFC 2047 encoded words decoded.
    public func decodedValue(of field: HeaderField) -> String {
        EncodedWord.decode(HeaderScanner.unfold(bytes[field.valueRange]))
    }

    /// The decoded value of the first field called `name`.
    public func header(_ name: String, in part: MIMEPart? = nil) -> String? {
        (part ?? root).headers.first { $0.hasName(name) }.map(decodedValue(of:))
    }

    /// The unfolded bytes of the first field called `name`.
    func unfoldedValue(_ name: String, in part: MIMEPart) -> [UInt8]? {
        part.headers.first { $0.hasName(name) }.map { HeaderScanner.unfold(bytes[$0.valueRange]) }
    }

    /// Addresses of every field called `name` (From, To, Cc, Bcc, Reply-To, Sender...).
    public func addresses(_ name: String, in part: MIMEPart? = nil) -> [AddressListItem] {
        fields(named: name, in: part).flatMap { AddressParser.parse(HeaderScanner.unfold(bytes[$0.valueRange])) }
    }

    public func date(in part: MIMEPart? = nil) -> MessageDate? {
        unfoldedValue("Date", in: part ?? root).flatMap { MessageDate(parsing: $0) }
    }

    public func messageID(in part: MIMEPart? = nil) -> String? {
        unfoldedValue("Message-ID", in: part ?? root).flatMap { MessageIDParser.parse($0) }
    }

    public func inReplyTo(in part: MIMEPart? = nil) -> [String] {
        unfoldedValue("In-Reply-To", in: part ?? root).map { MessageIDParser.parseList($0) } ?? []
    }

    public func references(in part: MIMEPart? = nil) -> [String] {
        unfoldedValue("References", in: part ?? root).map { MessageIDParser.parseList($0) } ?? []
    }

    public func subject(in part: MIMEPart? = nil) -> String? {
        header("Subject", in: part)
    }

    // MARK: Bodies

    /// The body as it is in the message (still transfer-encoded).
    public func rawBody(of part: MIMEPart) -> ArraySlice<UInt8> {
        bytes[part.bodyRange]
    }

    /// The body with its Content-Transfer-Encoding removed (base64 and quoted-printable decoded
    /// leniently; identity and unknown encodings returned as they are).
    public func decodedBody(of part: MIMEPart) -> [UInt8] {
        let body = bytes[part.bodyRange]
        switch part.contentTransferEncoding ?? "7bit" {
        case "base64": return TransferEncoding.decodeBase64(body)
        case "quoted-printable": return TransferEncoding.decodeQuotedPrintable(body)
        default: return Array(body)
        }
    }

    /// The size of the decoded body, computed without keeping the decoded bytes.
    public func decodedSize(of part: MIMEPart) -> Int {
        switch part.contentTransferEncoding ?? "7bit" {
        case "base64": return TransferEncoding.decodedBase64Length(bytes[part.bodyRange])
        case "quoted-printable": return decodedBody(of: part).count
        default: return part.bodyRange.count
        }
    }

    /// The body as text: transfer encoding removed and the charset converted to UTF-8.
    public func text(of part: MIMEPart) -> DecodedText {
        Charset.decode(decodedBody(of: part), charset: part.contentType.charset)
    }
}
