import NIOCore

/// Writes IMAP response syntax into a `ByteBuffer`: atoms, quoted strings, literals, NIL
/// (RFC 9051 section 4.3). Each response type writes itself through one of these.
public struct ResponseWriter {
    public var buffer: ByteBuffer
    /// Set after `ENABLE UTF8=ACCEPT` or IMAP4rev2: quoted strings may carry UTF-8 (RFC 6855).
    public var utf8Accepted: Bool

    public init(buffer: ByteBuffer = ByteBuffer(), utf8Accepted: Bool = false) {
        self.buffer = buffer
        self.utf8Accepted = utf8Accepted
    }

    public mutating func writeString(_ text: String) {
        buffer.writeString(text)
    }

    public mutating func writeBytes<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.writeBytes(bytes)
    }

    mutating func writeCRLF() {
        buffer.writeBytes([0x0D, 0x0A])
    }

    /// `string = quoted / literal`: quoted when every byte may appear in a quoted string (with
    /// `"` and `\` escaped), otherwise a literal (CR, LF, NUL, or 8-bit without UTF8=ACCEPT).
    public mutating func writeIMAPString<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if canQuote(bytes) {
            buffer.writeInteger(UInt8(0x22))
            for b in bytes {
                if b == 0x22 || b == 0x5C { buffer.writeInteger(UInt8(0x5C)) }
                buffer.writeInteger(b)
            }
            buffer.writeInteger(UInt8(0x22))
        } else {
            writeLiteral(bytes)
        }
    }

    public mutating func writeIMAPString(_ text: String) {
        writeIMAPString(Array(text.utf8))
    }

    /// `nstring = string / nil`
    public mutating func writeNString(_ text: String?) {
        if let text { writeIMAPString(text) } else { writeString("NIL") }
    }

    /// `astring = 1*ASTRING-CHAR / string`: an atom when possible.
    public mutating func writeAString(_ text: String) {
        let bytes = Array(text.utf8)
        // "NIL" is a valid atom, but clients may read it as nil where an nstring could stand.
        if !bytes.isEmpty, bytes.allSatisfy(GrammarCursor.isAStringChar), text.uppercased() != "NIL" {
            buffer.writeBytes(bytes)
        } else {
            writeIMAPString(bytes)
        }
    }

    /// `mailbox = "INBOX" / astring`, in its wire (modified UTF-7) form.
    public mutating func writeMailbox(_ name: MailboxName) {
        writeAString(name.wire)
    }

    /// `literal = "{" number64 "}" CRLF *CHAR8`
    public mutating func writeLiteral<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.writeString("{\(bytes.count)}\r\n")
        buffer.writeBytes(bytes)
    }

    public mutating func writeLiteral(_ bytes: ByteBuffer) {
        buffer.writeString("{\(bytes.readableBytes)}\r\n")
        var copy = bytes
        buffer.writeBuffer(&copy)
    }

    /// `literal8 = "~{" number64 "}" CRLF *OCTET` (RFC 3516), used when the data holds NUL.
    public mutating func writeLiteral8(_ bytes: ByteBuffer) {
        buffer.writeString("~{\(bytes.readableBytes)}\r\n")
        var copy = bytes
        buffer.writeBuffer(&copy)
    }

    private func canQuote<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        var hasHigh = false
        for b in bytes {
            if b == 0x00 || b == 0x0D || b == 0x0A { return false }
            if b >= 0x80 { hasHigh = true }
        }
        guard hasHigh else { return true }
        guard utf8Accepted else { return false }
        // Only well-formed UTF-8 may go in a quoted string.
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// `"(" item *(SP item) ")"`
    mutating func writeList<S: Sequence>(_ items: S, _ body: (inout ResponseWriter, S.Element) -> Void) {
        buffer.writeInteger(UInt8(0x28))
        var first = true
        for item in items {
            if !first { buffer.writeInteger(UInt8(0x20)) }
            first = false
            body(&self, item)
        }
        buffer.writeInteger(UInt8(0x29))
    }
}
