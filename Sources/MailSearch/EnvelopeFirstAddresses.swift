import MIME

/// The first address of From, To and Cc as the message's ENVELOPE gives them, which is what SORT's
/// FROM, TO, CC (RFC 5256) and DISPLAYFROM, DISPLAYTO (RFC 5957 section 3) are defined on: a group's
/// start marker counts as its first address (its name as addr-mailbox, no host), and a quoted local
/// part appears unquoted.
struct EnvelopeFirstAddresses: Sendable, Hashable {
    struct Address: Sendable, Hashable {
        /// addr-name, RFC 2047 words decoded.
        var name: String?
        var mailbox: String?
        var host: String?

        /// RFC 5957 section 3: the display name when it is not the empty string (spaces count),
        /// else `mailbox@host`, else the mailbox (a group's name).
        var displayValue: String {
            if let name, !name.isEmpty { return name }
            guard let mailbox else { return "" }
            guard let host else { return mailbox }
            return "\(mailbox)@\(host)"
        }
    }

    var from: Address?
    var to: Address?
    var cc: Address?

    /// Empty (every address nil) when the text is not an envelope.
    init(_ envelope: String) {
        var reader = EnvelopeText.Reader(bytes: StoredBytes.wireBytes(envelope))
        guard case .list(let fields)? = reader.item(depth: 0), fields.count == 10 else { return }
        from = Self.first(fields[2])
        to = Self.first(fields[5])
        cc = Self.first(fields[6])
    }

    static func first(_ item: EnvelopeText.Item) -> Address? {
        guard case .list(let addresses) = item, case .list(let fields)? = addresses.first, fields.count == 4 else { return nil }
        return Address(name: fields[0].string.map { EncodedWord.decode(Array($0.utf8)) },
                       mailbox: fields[2].string.map { EncodedWord.decode(Array($0.utf8)) }, host: fields[3].string)
    }
}
