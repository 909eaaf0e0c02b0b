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
    /// The lookup key: lower-cased.
    public var normalized: String { address.lowercased() }

    public init?(_ text: String) {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.utf8.count <= EmailAddress.maximumLength else { return nil }
        let pieces = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard pieces.count == 2 else { return nil }
        let local = pieces[0], domain = pieces[1]
        guard (1...EmailAddress.maximumLocalPartLength).contains(local.utf8.count),
              EmailAddress.isDotAtom(local, allowed: EmailAddress.isAtomText),
              EmailAddress.isDomain(domain) else { return nil }
        address = trimmed
    }

    public var description: String { address }

    public var domain: String { String(address[address.index(after: address.lastIndex(of: "@")!)...]).lowercased() }

    public static func == (lhs: EmailAddress, rhs: EmailAddress) -> Bool { lhs.normalized == rhs.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }

    private static func isDotAtom(_ text: Substring, allowed: (UInt8) -> Bool) -> Bool {
        let atoms = text.split(separator: ".", omittingEmptySubsequences: false)
        return atoms.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy(allowed) }
    }

    // RFC 5322 3.2.3 atext
    private static func isAtomText(_ byte: UInt8) -> Bool {
        if isLetterOrDigit(byte) { return true }
        return Array("!#$%&'*+-/=?^_`{|}~".utf8).contains(byte)
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    // RFC 5321 4.1.2 Domain: sub-domain *("." sub-domain); we also require at least one dot-free label
    // of letters, digits and inner hyphens, which is what DNS accepts.
    private static func isDomain(_ text: Substring) -> Bool {
        guard (1...253).contains(text.utf8.count) else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count), isLetterOrDigit(bytes.first!), isLetterOrDigit(bytes.last!) else { return false }
            return bytes.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "-") }
        }
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
