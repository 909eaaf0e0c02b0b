#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// One item of an untagged FETCH response (RFC 9051 section 7.5.2, RFC 3516, RFC 7162).
///
/// ```
/// msg-att-static  = "ENVELOPE" SP envelope / "INTERNALDATE" SP date-time / "RFC822.SIZE" SP number64 /
///                   "BODY" ["STRUCTURE"] SP body / "BODY" section ["<" number ">"] SP nstring /
///                   "BINARY" section-binary SP (nstring / literal8) / "BINARY.SIZE" section-binary SP number /
///                   "UID" SP uniqueid
/// msg-att-dynamic = "FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")" / "MODSEQ" SP "(" mod-sequence-value ")"
/// ```
/// `S: * 12 FETCH (BODY[HEADER] {342}`
public enum FetchValue: Hashable, Sendable {
    case flags([Flag])
    case uid(UInt32)
    case internalDate(IMAPDateTime)
    case rfc822Size(Int)
    /// Precomputed `(date subject from ...)` from the MIME layer.
    case envelope(WireText)
    /// Precomputed body structure; `extensible` selects `BODYSTRUCTURE` over `BODY`.
    case bodyStructure(WireText, extensible: Bool)
    /// `BODY[section]<origin> {n}` followed by the bytes; nil data is `NIL`.
    case body(section: SectionSpecifier, origin: UInt64?, data: ByteBuffer?)
    /// `BINARY[part]<origin>`: a literal8 when the bytes hold NUL.
    case binary(section: SectionSpecifier, origin: UInt64?, data: ByteBuffer?)
    case binarySize(section: SectionSpecifier, size: Int)
    case modSeq(UInt64)
    /// `EMAILID (objectid)` (RFC 8474 5.1).
    case emailID(String)
    /// `THREADID (objectid)`, or `THREADID NIL` for a message in no thread (RFC 8474 5.2).
    case threadID(String?)
    /// `PREVIEW nstring` (RFC 8970 3.1): UTF-8, so a literal when it has 8-bit characters.
    case preview(String?)
    /// `"SAVEDATE" SP (date-time / nil)` (RFC 8514 4.1)
    case saveDate(IMAPDateTime?)
    case rfc822(ByteBuffer?)
    case rfc822Header(ByteBuffer?)
    case rfc822Text(ByteBuffer?)
    /// Any other item written as `name value` with the value already in wire syntax.
    case raw(name: String, value: WireText)

    func write(into writer: inout ResponseWriter) {
        switch self {
        case .flags(let flags):
            writer.writeString("FLAGS ")
            writer.writeList(flags) { w, f in w.writeString(f.wire) }
        case .uid(let uid): writer.writeString("UID \(uid)")
        case .internalDate(let date): writer.writeString("INTERNALDATE \"\(date.wire)\"")
        case .saveDate(let date): writer.writeString(date.map { "SAVEDATE \"\($0.wire)\"" } ?? "SAVEDATE NIL")
        case .rfc822Size(let size): writer.writeString("RFC822.SIZE \(size)")
        case .envelope(let raw):
            writer.writeString("ENVELOPE ")
            writer.writeBytes(raw.bytes)
        case .bodyStructure(let raw, let extensible):
            writer.writeString(extensible ? "BODYSTRUCTURE " : "BODY ")
            writer.writeBytes(raw.bytes)
        case .body(let section, let origin, let data):
            writer.writeString("BODY[\(section.wire)]")
            if let origin { writer.writeString("<\(origin)>") }
            writer.writeString(" ")
            Self.writeData(data, into: &writer)
        case .binary(let section, let origin, let data):
            writer.writeString("BINARY[\(section.wire)]")
            if let origin { writer.writeString("<\(origin)>") }
            writer.writeString(" ")
            if let data, data.readableBytesView.contains(0) {
                writer.writeLiteral8(data)
            } else {
                Self.writeData(data, into: &writer)
            }
        case .binarySize(let section, let size):
            writer.writeString("BINARY.SIZE[\(section.wire)] \(size)")
        case .modSeq(let n): writer.writeString("MODSEQ (\(n))")
        case .emailID(let id): writer.writeString("EMAILID (\(id))")
        case .threadID(let id): writer.writeString(id.map { "THREADID (\($0))" } ?? "THREADID NIL")
        case .preview(let text):
            writer.writeString("PREVIEW ")
            writer.writeNString(text)
        case .rfc822(let data):
            writer.writeString("RFC822 ")
            Self.writeData(data, into: &writer)
        case .rfc822Header(let data):
            writer.writeString("RFC822.HEADER ")
            Self.writeData(data, into: &writer)
        case .rfc822Text(let data):
            writer.writeString("RFC822.TEXT ")
            Self.writeData(data, into: &writer)
        case .raw(let name, let value):
            writer.writeString(name)
            writer.writeString(" ")
            writer.writeBytes(value.bytes)
        }
    }

    /// Message bytes always go out as a literal (they hold CRLF); nil is `NIL`. A literal cannot
    /// carry NUL (`CHAR8` excludes it), so a NUL in a stored message goes out as 0x80 in BODY and
    /// RFC822 answers, as other servers do; BINARY sends the bytes unchanged in a literal8.
    private static func writeData(_ data: ByteBuffer?, into writer: inout ResponseWriter) {
        guard let data else { writer.writeString("NIL"); return }
        let hasNUL = data.withUnsafeReadableBytes { bytes in
            bytes.baseAddress.map { memchr($0, 0, bytes.count) != nil } ?? false
        }
        guard hasNUL else { writer.writeLiteral(data); return }
        writer.writeLiteral(data.readableBytesView.map { $0 == 0 ? 0x80 : $0 })
    }
}
