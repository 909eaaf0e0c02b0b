/// Header bytes that are not UTF-8 (a Latin-1 subject written by an old client), carried inside
/// the text of an IMAP ENVELOPE so that the wire can send them exactly as stored (RFC 3501 sends
/// header strings as they are; only UTF8=ACCEPT and IMAP4rev2 clients expect UTF-8).
///
/// Such a header is read as Latin-1, one scalar per byte; for the envelope each scalar from U+0080
/// to U+00FF becomes a private-use stand-in from U+F780 to U+F7FF, which the IMAP writer turns back
/// into the byte. Stand-ins keep the stored envelope valid UTF-8 text.
public enum StoredBytes {
    static let firstStandIn: UInt32 = 0xF780

    /// The Latin-1-read `text` with each 8-bit scalar replaced by its stand-in.
    static func escaping(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if (0x80...0xFF).contains(scalar.value), let standIn = Unicode.Scalar(firstStandIn + scalar.value - 0x80) {
                scalars.append(standIn)
            } else {
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    static func isStandIn(_ scalar: Unicode.Scalar) -> Bool {
        (firstStandIn...(firstStandIn + 0x7F)).contains(scalar.value)
    }

    /// How many bytes `text` takes on the wire, a stand-in counting as its one byte.
    static func wireCount(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { count, scalar in
            count + (isStandIn(scalar) ? 1 : UTF8.width(scalar))
        }
    }

    /// The bytes to send, stand-ins turned back into the stored bytes. They travel in literals,
    /// which carry any 8-bit byte, for IMAP4rev2 clients as well.
    public static func wireBytes(_ text: String) -> [UInt8] {
        guard text.unicodeScalars.contains(where: isStandIn) else { return Array(text.utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if isStandIn(scalar) {
                bytes.append(UInt8(scalar.value - firstStandIn + 0x80))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }
}
