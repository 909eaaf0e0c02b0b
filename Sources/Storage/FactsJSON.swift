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
        var string = string
        return string.withUTF8 { bytes in
            // Runs of bytes that need no escape are copied whole; UTF-8 above ASCII passes as it is.
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 2)
            out.append(UInt8(ascii: "\""))
            var runStart = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart..<index]))
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0: break
                default: out += Array("\\u00".utf8) + [hexDigit(byte >> 4), hexDigit(byte & 0x0F)]
                }
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart...]))
            out.append(UInt8(ascii: "\""))
            return String(decoding: out, as: UTF8.self)
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
