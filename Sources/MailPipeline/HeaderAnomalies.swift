import MIME
import MailCore

/// The header checks of spam detection: what a message written by a real mail program does not
/// look like. Each check that fires adds its score (see `SpamVerdict`). Pure: table-tested.
///
/// * `MISSING_FROM`, `MALFORMED_FROM`, `MISSING_DATE`, `MALFORMED_DATE`, `DATE_IN_FUTURE` (more
///   than a day ahead), `MISSING_MESSAGE_ID`, `MALFORMED_MESSAGE_ID` (RFC 5322 3.6);
/// * `DUPLICATE_HEADER`: a field RFC 5322 3.6 allows once occurs twice or more;
/// * `BARE_LF`: a line ends in LF without CR (RFC 5322 2.3; common in bulk senders' software);
/// * `ENVELOPE_FROM_MISMATCH`: the envelope sender's domain is neither the From domain nor a
///   parent or child of it (mail relayed for someone else, or forged);
/// * `NO_RECIPIENT_HEADER`: neither To nor Cc (mail to undisclosed recipients).
public enum HeaderAnomalies {
    public static let scores: [String: Double] = [
        "MISSING_FROM": 3.0, "MALFORMED_FROM": 2.5, "MISSING_DATE": 1.5, "MALFORMED_DATE": 1.5, "DATE_IN_FUTURE": 1.0,
        "MISSING_MESSAGE_ID": 1.5, "MALFORMED_MESSAGE_ID": 1.0, "DUPLICATE_HEADER": 2.0, "BARE_LF": 1.5,
        "ENVELOPE_FROM_MISMATCH": 1.0, "NO_RECIPIENT_HEADER": 0.5,
    ]

    /// Fields RFC 5322 3.6 allows at most once.
    static let singleFields = ["From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To", "References", "Subject", "Date"]

    /// `envelopeSender`: MAIL FROM's address ("" for the null sender); `now`: Unix seconds.
    public static func checks(_ message: MIMEMessage, envelopeSender: String, now: Int64) -> [SpamVerdict.Check] {
        var found: [SpamVerdict.Check] = []
        func fire(_ name: String, _ detail: String) {
            found.append(SpamVerdict.Check(name: name, score: scores[name] ?? 0, detail: detail))
        }
        let from = message.fields(named: "From")
        let fromAddresses = message.addresses("From").flatMap(\.mailboxes).compactMap { EmailAddress($0.address) }
        if from.isEmpty {
            fire("MISSING_FROM", "no From field")
        } else if fromAddresses.isEmpty {
            fire("MALFORMED_FROM", "From holds no address")
        }
        if message.fields(named: "Date").isEmpty {
            fire("MISSING_DATE", "no Date field")
        } else if let date = message.date() {
            if date.secondsSince1970 > now + 86_400 { fire("DATE_IN_FUTURE", "Date is more than a day ahead") }
        } else {
            fire("MALFORMED_DATE", "Date cannot be read")
        }
        if let field = message.fields(named: "Message-ID").first {
            let value = message.rawValue(of: field).trimmingWhitespace()
            // The brackets are part of the syntax (RFC 5322 3.6.4); the parser forgives their absence.
            if !value.hasPrefix("<") || (MessageIDParser.parse(Array(value.utf8)).map({ !$0.contains("@") }) ?? true) {
                fire("MALFORMED_MESSAGE_ID", "Message-ID is not <left@right>")
            }
        } else {
            fire("MISSING_MESSAGE_ID", "no Message-ID field")
        }
        let repeated = singleFields.filter { message.fields(named: $0).count > 1 }
        if !repeated.isEmpty { fire("DUPLICATE_HEADER", "more than one " + repeated.joined(separator: ", ")) }
        if hasBareLF(message.bytes) { fire("BARE_LF", "a line ends in LF without CR") }
        if let sender = EmailAddress(envelopeSender), let author = fromAddresses.first,
           !related(sender.domain.lowercased(), author.domain.lowercased()) {
            fire("ENVELOPE_FROM_MISMATCH", "envelope sender \(sender.domain) for From \(author.domain)")
        }
        if message.fields(named: "To").isEmpty && message.fields(named: "Cc").isEmpty {
            fire("NO_RECIPIENT_HEADER", "neither To nor Cc")
        }
        return found
    }

    /// The same domain, or one inside the other (`bounces.example.com` sends for `example.com`).
    static func related(_ left: String, _ right: String) -> Bool {
        left == right || left.hasSuffix("." + right) || right.hasSuffix("." + left)
    }

    static func hasBareLF(_ bytes: [UInt8]) -> Bool {
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 0x0A && previous != 0x0D { return true }
            previous = byte
        }
        return false
    }
}
