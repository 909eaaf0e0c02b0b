import MIME

/// What SEARCH reads of a message's stored ENVELOPE (`MessageFacts.envelope`, RFC 3501 7.4.2): the
/// Date header as written, and each address header as text with its display names, addresses and
/// group names, so that FROM, TO, CC, BCC (which RFC 3501 6.4.4 defines on the envelope) and the SENT*
/// keys need no message bytes.
///
/// ```
/// envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to SP
///            env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
/// address  = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
/// ```
/// A group is a start marker (NIL host, the group name as mailbox), its members, and an end
/// marker of four NILs.
struct EnvelopeText: Sendable, Hashable {
    /// The Date header's value as written, nil when there is none.
    var date: String?
    var from: String?
    var to: String?
    var cc: String?
    var bcc: String?

    /// Nil when the text is not an envelope.
    init?(_ envelope: String) {
        // Literal counts are of the bytes sent, with 8-bit header bytes as stored.
        var reader = Reader(bytes: StoredBytes.wireBytes(envelope))
        guard case .list(let fields)? = reader.item(depth: 0), fields.count == 10 else { return nil }
        date = fields[0].string
        from = Self.addresses(fields[2])
        to = Self.addresses(fields[5])
        cc = Self.addresses(fields[6])
        bcc = Self.addresses(fields[7])
    }

    /// `Name <mailbox@host>` per address, `group:` and `;` around a group's members, RFC 2047 words
    /// decoded; nil for NIL (no such header).
    static func addresses(_ item: Item) -> String? {
        guard case .list(let addresses) = item else { return nil }
        var parts: [String] = []
        for address in addresses {
            guard case .list(let fields) = address, fields.count == 4 else { continue }
            let name = fields[0].string.map { EncodedWord.decode(Array($0.utf8)) }
            switch (fields[2].string, fields[3].string) {
            case (let group?, nil): parts.append(EncodedWord.decode(Array(group.utf8)) + ":")
            case (nil, nil): parts.append(";")
            case (let mailbox, let host):
                let address = [mailbox, host].compactMap { $0 }.joined(separator: "@")
                parts.append(name.map { "\($0) <\(address)>" } ?? address)
            }
        }
        return parts.joined(separator: " ")
    }

    indirect enum Item: Sendable, Hashable {
        case nil_
        case string(String)
        case list([Item])

        var string: String? {
            if case .string(let text) = self { return text }
            return nil
        }
    }

    /// Reads the nstring and list grammar the MIME module writes; anything else ends the read.
    struct Reader {
        let bytes: [UInt8]
        var index = 0
        static let maximumDepth = 4

        mutating func item(depth: Int) -> Item? {
            guard index < bytes.count, depth <= Self.maximumDepth else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "("):
                index += 1
                var items: [Item] = []
                while index < bytes.count, bytes[index] != UInt8(ascii: ")") {
                    if bytes[index] == UInt8(ascii: " ") { index += 1; continue }
                    guard let item = item(depth: depth + 1) else { return nil }
                    items.append(item)
                }
                guard index < bytes.count else { return nil }
                index += 1
                return .list(items)
            case UInt8(ascii: "\""):
                index += 1
                var text: [UInt8] = []
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                    guard index < bytes.count else { return nil }
                    text.append(bytes[index])
                    index += 1
                }
                guard index < bytes.count else { return nil }
                index += 1
                return .string(String(decoding: text, as: UTF8.self))
            case UInt8(ascii: "{"):
                guard let close = bytes[index...].firstIndex(of: UInt8(ascii: "}")),
                      let count = Int(String(decoding: bytes[(index + 1)..<close], as: UTF8.self)),
                      count >= 0, count <= bytes.count - close - 3 else { return nil }
                let start = close + 3  // past "}\r\n"
                index = start + count
                // Bytes that are not UTF-8 were written in Latin-1, as the MIME reader takes them.
                let text = bytes[start..<index]
                if let utf8 = String(validating: text, as: UTF8.self) { return .string(utf8) }
                return .string(String(String.UnicodeScalarView(text.map { Unicode.Scalar($0) })))
            case UInt8(ascii: "N"):
                guard bytes[index...].starts(with: Array("NIL".utf8)) else { return nil }
                index += 3
                return .nil_
            default:
                return nil
            }
        }
    }
}
