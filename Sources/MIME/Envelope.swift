/// The IMAP ENVELOPE of a message (RFC 3501 section 7.4.2, RFC 9051 section 7.5.2).
///
/// Strings are the header values as written (unfolded, encoded words not decoded), which is
/// what clients expect and what Dovecot, Cyrus and UW send.
public struct Envelope: Sendable, Hashable {
    public var date: String?
    public var subject: String?
    public var from: [AddressListItem]
    public var sender: [AddressListItem]
    public var replyTo: [AddressListItem]
    public var to: [AddressListItem]
    public var cc: [AddressListItem]
    public var bcc: [AddressListItem]
    public var inReplyTo: String?
    public var messageID: String?

    // envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
    //            env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
    /// The wire form: `("date" "subject" ((name adl mailbox host)) ... "in-reply-to" "message-id")`.
    public var imapString: String {
        var output = "("
        IMAPString.nstring(date, into: &output); output += " "
        IMAPString.nstring(subject, into: &output); output += " "
        for list in [from, sender, replyTo, to, cc, bcc] {
            Self.writeAddresses(list, into: &output)
            output += " "
        }
        IMAPString.nstring(inReplyTo, into: &output); output += " "
        IMAPString.nstring(messageID, into: &output)
        return output + ")"
    }

    // env-from = "(" 1*address ")" / nil
    // address  = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
    /// A group is written as RFC 3501 says: a start marker with NIL host and the group name as
    /// mailbox, its members, then an end marker of four NILs.
    static func writeAddresses(_ items: [AddressListItem], into output: inout String) {
        guard !items.isEmpty else { output += "NIL"; return }
        output += "("
        func write(_ mailbox: Mailbox) {
            output += "("
            IMAPString.nstring(mailbox.rawDisplayName ?? mailbox.displayName, into: &output); output += " "
            IMAPString.nstring(mailbox.route, into: &output); output += " "
            IMAPString.nstring(mailbox.localPart, into: &output); output += " "
            // A mailbox without "@" has no host: RFC 3501 says NIL host means a group marker,
            // so servers send an empty domain-ish placeholder; we follow Dovecot's "MISSING_DOMAIN".
            IMAPString.nstring(mailbox.domain ?? "MISSING_DOMAIN", into: &output)
            output += ")"
        }
        for item in items {
            switch item {
            case .mailbox(let mailbox):
                write(mailbox)
            case .group(_, let rawName, let members):
                output += "(NIL NIL "
                IMAPString.string(rawName, into: &output)
                output += " NIL)"
                for member in members { write(member) }
                output += "(NIL NIL NIL NIL)"
            }
        }
        output += ")"
    }
}

extension MIMEMessage {
    /// The envelope of the top-level message (no argument), or of the message inside a
    /// message/rfc822 part (pass the part or its `embeddedMessage`).
    public func envelope(of part: MIMEPart? = nil) -> Envelope {
        // The top-level envelope is the root's own header, even when the root is message/rfc822.
        var header = root
        if let part { header = part.embeddedMessage ?? part }
        // A field whose bytes are not UTF-8 keeps them as stored (see `StoredBytes`).
        func isEightBitNotUTF8(_ field: HeaderField) -> Bool {
            let value = bytes[field.valueRange]
            return value.contains { $0 >= 0x80 } && !isValidUTF8(value)
        }
        func raw(_ name: String) -> String? {
            guard let field = header.headers.first(where: { $0.hasName(name) }) else { return nil }
            let text = rawValue(of: field)
            return isEightBitNotUTF8(field) ? StoredBytes.escaping(text) : text
        }
        func list(_ name: String) -> [AddressListItem] {
            header.headers.filter { $0.hasName(name) }.flatMap { field in
                let items = AddressParser.parse(HeaderScanner.unfold(bytes[field.valueRange]))
                return isEightBitNotUTF8(field) ? items.map(Self.escapingStoredBytes) : items
            }
        }
        let from = list("From")
        let sender = list("Sender")
        let replyTo = list("Reply-To")
        // RFC 3501 7.4.2: absent Sender and Reply-To take the value of From.
        return Envelope(date: raw("Date"), subject: raw("Subject"), from: from,
                        sender: sender.isEmpty ? from : sender, replyTo: replyTo.isEmpty ? from : replyTo,
                        to: list("To"), cc: list("Cc"), bcc: list("Bcc"),
                        inReplyTo: raw("In-Reply-To"), messageID: raw("Message-ID"))
    }

    private static func escapingStoredBytes(_ item: AddressListItem) -> AddressListItem {
        func escape(_ mailbox: Mailbox) -> Mailbox {
            var mailbox = mailbox
            mailbox.rawDisplayName = (mailbox.rawDisplayName ?? mailbox.displayName).map(StoredBytes.escaping)
            mailbox.localPart = StoredBytes.escaping(mailbox.localPart)
            mailbox.domain = mailbox.domain.map(StoredBytes.escaping)
            return mailbox
        }
        switch item {
        case .mailbox(let mailbox): return .mailbox(escape(mailbox))
        case .group(let name, let rawName, let members): return .group(name: name, rawName: StoredBytes.escaping(rawName), members: members.map(escape))
        }
    }

    /// `ENVELOPE` as IMAP sends it, for the top-level message.
    public var envelope: String { envelope().imapString }
}
