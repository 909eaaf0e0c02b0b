/// A grant's mailbox address (`local@domain`), compared without regard to case.
///
/// Grant addresses are what people type into a mail client as their user name, so the accepted
/// form is the plain RFC 5321 `Mailbox` (dot-atom local part, dotted domain), not every oddity of
/// RFC 5322: quoted local parts and address literals are refused.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    /// RFC 5321 4.5.3.1: a path is at most 256 octets, so a mailbox is at most 254.
    public static let maximumLength = 254
    public static let maximumLocalPartLength = 64

    /// As the user wrote it (case preserved).
    public let address: String
    /// The lookup key: lower-cased (an address holds ASCII only, so that is byte by byte).
    public let normalized: String

    /// Checked in one pass over the bytes, without splitting: an address is parsed for every
    /// recipient, sender and rule of every message.
    public init?(_ text: String) {
        var bytes = Substring(text).utf8[...]
        while let first = bytes.first, Self.isWhitespace(first) { bytes.removeFirst() }
        while let last = bytes.last, Self.isWhitespace(last) { bytes.removeLast() }
        guard !bytes.isEmpty, bytes.count <= EmailAddress.maximumLength,
              let at = bytes.firstIndex(of: UInt8(ascii: "@")) else { return nil }
        let local = bytes[..<at], domain = bytes[bytes.index(after: at)...]
        guard (1...EmailAddress.maximumLocalPartLength).contains(local.count), Self.isDotAtom(local), Self.isDomain(domain) else {
            return nil
        }
        address = String(Substring(bytes))
        normalized = String(decoding: bytes.lazy.map(Self.lowercased), as: UTF8.self)
    }

    public var description: String { address }

    public var domain: String { String(address[address.index(after: address.lastIndex(of: "@")!)...]).lowercased() }

    public static func == (lhs: EmailAddress, rhs: EmailAddress) -> Bool { lhs.normalized == rhs.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// RFC 5322 3.2.3 dot-atom-text: atoms of atext, one dot between two of them.
    private static func isDotAtom(_ text: Substring.UTF8View.SubSequence) -> Bool {
        var atomLength = 0
        for byte in text {
            if byte == UInt8(ascii: ".") {
                guard atomLength > 0 else { return false }
                atomLength = 0
            } else {
                guard isAtomText(byte) else { return false }
                atomLength += 1
            }
        }
        return atomLength > 0
    }

    // RFC 5322 3.2.3 atext
    private static func isAtomText(_ byte: UInt8) -> Bool {
        if isLetterOrDigit(byte) { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "?"),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"),
             UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    // RFC 5321 4.1.2 Domain: sub-domain *("." sub-domain); every label is letters, digits and inner
    // hyphens, 1 to 63 of them, which is what DNS accepts.
    private static func isDomain(_ text: Substring.UTF8View.SubSequence) -> Bool {
        guard (1...253).contains(text.count) else { return false }
        var labelLength = 0
        var previous: UInt8 = 0
        for byte in text {
            if byte == UInt8(ascii: ".") {
                // A label ends: it was not empty, and it did not end with a hyphen.
                guard labelLength > 0, isLetterOrDigit(previous) else { return false }
                labelLength = 0
            } else {
                if labelLength == 0 {
                    guard isLetterOrDigit(byte) else { return false }
                } else {
                    guard isLetterOrDigit(byte) || byte == UInt8(ascii: "-") else { return false }
                }
                labelLength += 1
                guard labelLength <= 63 else { return false }
            }
            previous = byte
        }
        return labelLength > 0 && isLetterOrDigit(previous)
    }
}

extension String {
    /// Trims spaces, tabs and line breaks at both ends without Foundation.
    public func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
