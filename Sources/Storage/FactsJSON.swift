import MailCore

/// A message's facts as the JSON object the write functions read (`mail_insert_message`,
/// `mail_store_content`): written by hand, since it is on every write's path and its shape is fixed.
struct FactsJSON {
    private(set) var text = "{"

    init(_ facts: MessageFacts, participants: ParticipantJSON, flags: MessageFlags, internalDate: Int64,
         exemptFromQuota: Bool = false) {
        field("message_id_header", facts.messageIDHeader.map(Self.quoted) ?? "null")
        field("in_reply_to", Self.array(facts.inReplyTo))
        field("refs", Self.array(facts.references))
        field("subject", facts.subject.map(Self.quoted) ?? "null")
        field("normalized_subject", Self.quoted(facts.normalizedSubject))
        field("reply_prefix", facts.subjectHasReplyPrefix ? "true" : "false")
        field("from", participants.from)
        field("to", participants.to)
        field("cc", participants.cc)
        field("bcc", participants.bcc)
        field("reply_to", participants.replyTo)
        field("sent_date", facts.sentDate.map(String.init) ?? "null")
        field("snippet", Self.quoted(facts.snippet))
        field("has_attachments", facts.hasAttachments ? "true" : "false")
        field("envelope", Self.quoted(facts.envelope))
        field("body_structure", Self.quoted(facts.bodyStructure))
        field("body", Self.quoted(facts.body))
        field("extra", facts.extraJSON)
        field("flags", Self.array(flags.names))
        field("internal_date", String(internalDate))
        field("exempt_from_quota", exemptFromQuota ? "true" : "false")
        text += "}"
    }

    private mutating func field(_ name: String, _ value: String) {
        if text.utf8.count > 1 { text += "," }
        text += "\"\(name)\":\(value)"
    }

    /// Several objects as one JSON array, in order.
    static func array(of objects: [FactsJSON]) -> String {
        "[" + objects.map(\.text).joined(separator: ",") + "]"
    }

    static func array(_ strings: [String]) -> String {
        "[" + strings.map(quoted).joined(separator: ",") + "]"
    }

    /// A JSON string. NUL is dropped: Postgres text cannot hold it, so no stored fact has one.
    static func quoted(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0}": break
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
