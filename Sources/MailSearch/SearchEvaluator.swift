import IMAPGrammar
import MIME
import MailCore

/// What the evaluator sees of one message of the selected mailbox.
///
/// Everything but `raw` comes from the mailbox snapshot and the stored facts; `raw` is loaded only
/// when `SearchEvaluator.needsRaw(_:)` says the key reads the message text.
public struct SearchCandidate: Sendable, Hashable {
    public var sequenceNumber: UInt32
    public var uid: UInt32
    public var flags: MessageFlags
    /// The internal date, seconds since 1970 UTC.
    public var internalDate: Int64
    /// RFC822.SIZE in octets.
    public var size: Int64
    public var modseq: Int64
    public var facts: MessageFacts
    /// The message bytes; nil unless the key needs them.
    public var raw: [UInt8]?
    /// `\Recent` in the searching session (RFC 3501 2.3.2).
    public var recent: Bool
    /// The message's and its thread's object ids (RFC 8474), the API's message and thread ids.
    public var emailID: String
    public var threadID: String
    /// When the message was saved in this mailbox (RFC 8514), seconds since 1970 UTC.
    public var savedDate: Int64

    public init(sequenceNumber: UInt32, uid: UInt32, flags: MessageFlags, internalDate: Int64, size: Int64, modseq: Int64,
                facts: MessageFacts, raw: [UInt8]?, recent: Bool = false, emailID: String = "", threadID: String = "",
                savedDate: Int64? = nil) {
        self.savedDate = savedDate ?? internalDate
        self.sequenceNumber = sequenceNumber
        self.uid = uid
        self.flags = flags
        self.internalDate = internalDate
        self.size = size
        self.modseq = modseq
        self.facts = facts
        self.raw = raw
        self.recent = recent
        self.emailID = emailID
        self.threadID = threadID
    }
}

/// Evaluates a SEARCH key against one message (RFC 9051 section 6.4.4, RFC 3501 section 6.4.4,
/// RFC 5182 `$`, RFC 7162 section 3.1.5 `MODSEQ`).
///
/// ```
/// C: A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
/// S: * SEARCH 2 84 882
/// S: A282 OK SEARCH completed
/// ```
///
/// The session resolves the mailbox once, builds one evaluator per command, and calls
/// `matches(_:_:)` for each message in sequence order:
///
/// ```swift
/// guard SearchEvaluator.isSupportedCharset(command.charset ?? "UTF-8") else { /* NO [BADCHARSET (UTF-8 US-ASCII)] */ }
/// let evaluator = SearchEvaluator(largestSequenceNumber: count, largestUID: lastUID, savedResult: saved)
/// let loadRaw = SearchEvaluator.needsRaw(command.key)
/// let hits = candidates.filter { evaluator.matches(command.key, $0) }
/// ```
///
/// Rules, beyond what the RFCs spell out:
/// * Strings match as case-insensitive substrings of the decoded text (`String.lowercased()` on
///   both sides, then a UTF-8 substring search). An empty string matches every message that has
///   the field (SUBJECT, FROM, ..., HEADER) and every message for BODY and TEXT.
/// * FROM, TO, CC and BCC read the envelope's address lists (RFC 3501 6.4.4), as
///   `Name <mailbox@host>` per address with group names as `group:` (see `EnvelopeText`), so a
///   display name, an address or a group name matches.
/// * HEADER with an empty string matches every message that has the field, read from the raw
///   message, whatever the field.
/// * BODY reads every text/* part (nested messages included) after transfer decoding and charset
///   conversion to UTF-8; text/html parts are read both as written and as their visible text. TEXT reads the header fields (`Name: decoded value`) and the body.
/// * HEADER reads Subject, Message-ID, In-Reply-To and References from the stored facts (no raw
///   bytes needed; identifiers are matched in their `<id>` form), and any other field, address
///   fields included, as written in the raw message, RFC 2047 words decoded.
/// * Dates compare whole days: BEFORE/ON/SINCE the internal date's UTC day; SENTBEFORE/SENTON/
///   SENTSINCE the day written in the Date header, its time and zone disregarded (RFC 3501 6.4.4);
///   a message without a Date header that parses matches none of them.
/// * RECENT, NEW and OLD read `SearchCandidate.recent`, which the session sets from its own view.
/// * `$` (in either sequence-set position) is the saved result, held as UIDs (RFC 5182 section
///   2.1); with no saved result it is the empty set.
/// * MODSEQ compares the message's modseq; the optional entry name is ignored, since this server
///   keeps one modseq per message (RFC 7162 section 3.1.5 allows this).
public struct SearchEvaluator: Sendable {
    /// The charsets a `CHARSET` argument may name; anything else gets `NO [BADCHARSET (...)]`
    /// (RFC 9051 section 6.4.4). Listed in the order the response code gives them.
    static let supportedCharsets = ["UTF-8", "US-ASCII"]

    /// Header fields HEADER reads from `MessageFacts` rather than from the raw message (lowercase):
    /// those whose stored form is the field's text (decoded), so no message needs to be read.
    /// Address fields are not among them: their text has quotes, commas and group syntax the
    /// stored participants do not keep.
    static let headersInFacts: Set<String> = ["subject", "message-id", "in-reply-to", "references"]

    let largestSequenceNumber: UInt32
    let largestUID: UInt32
    /// UIDs of the result saved by `SEARCH RETURN (SAVE)`.
    let savedResult: Set<UInt32>
    let now: Int64

    /// - Parameters:
    ///   - largestSequenceNumber: what `*` means in a sequence set (the message count).
    ///   - largestUID: what `*` means in a UID set (the highest UID in the mailbox).
    ///   - savedResult: the UIDs saved by `SEARCH RETURN (SAVE)`, nil when nothing is saved.
    /// `now`: the time OLDER and YOUNGER count back from, seconds since 1970 UTC.
    public init(largestSequenceNumber: UInt32, largestUID: UInt32, savedResult: [UInt32]? = nil, now: Int64 = WallClock.unixSeconds()) {
        self.largestSequenceNumber = largestSequenceNumber
        self.largestUID = largestUID
        self.savedResult = Set(savedResult ?? [])
        self.now = now
    }

    /// True for `UTF-8` and `US-ASCII` in any letter case (RFC 9051 section 6.4.4: a server must
    /// support both). The parser gives the charset upper-cased; the evaluator does not rely on it.
    public static func isSupportedCharset(_ charset: String) -> Bool {
        let upper = charset.uppercased()
        return supportedCharsets.contains(upper) || upper == "UTF8" || upper == "ASCII"
    }

    /// True when the key reads the message text (BODY, TEXT, HEADER of a field not in the facts),
    /// so the candidate must carry `raw`.
    /// Whether the key uses `\Recent` (RECENT, NEW, OLD), which IMAP4rev2 removed.
    public static func mentionsRecent(_ key: SearchKey) -> Bool {
        switch key {
        case .recent, .new, .old: true
        case .not(let inner): mentionsRecent(inner)
        case .or(let left, let right): mentionsRecent(left) || mentionsRecent(right)
        case .and(let keys): keys.contains(where: mentionsRecent)
        default: false
        }
    }

    /// Whether the MODSEQ key appears anywhere in `key`: the search then turns CONDSTORE on and its
    /// answer carries the highest modseq found (RFC 7162 3.1.5).
    public static func mentionsModSeq(_ key: SearchKey) -> Bool {
        switch key {
        case .modSeq: true
        case .not(let inner): mentionsModSeq(inner)
        case .or(let left, let right): mentionsModSeq(left) || mentionsModSeq(right)
        case .and(let keys): keys.contains(where: mentionsModSeq)
        default: false
        }
    }

    public static func needsRaw(_ key: SearchKey) -> Bool {
        switch key {
        case .body, .text:
            return true
        case .header(let name, let needle):
            return needle.isEmpty || !headersInFacts.contains(name.lowercased())
        case .not(let inner):
            return needsRaw(inner)
        case .or(let left, let right):
            return needsRaw(left) || needsRaw(right)
        case .and(let keys):
            return keys.contains(where: needsRaw)
        case .all, .answered, .deleted, .draft, .flagged, .new, .old, .recent, .seen,
             .unanswered, .undeleted, .undraft, .unflagged, .unseen,
             .bcc, .cc, .from, .subject, .to, .keyword, .unkeyword,
             .before, .on, .since, .sentBefore, .sentOn, .sentSince,
             .larger, .smaller, .uid, .sequenceSet, .modSeq, .emailID, .threadID, .older, .younger,
             .savedBefore, .savedOn, .savedSince, .saveDateSupported:
            return false
        }
    }

    /// True when `candidate` satisfies `key`. A key that needs the raw message never matches a
    /// candidate without `raw`.
    public func matches(_ key: SearchKey, _ candidate: SearchCandidate) -> Bool {
        var text = SearchMessageText(raw: candidate.raw)
        return matches(key, candidate, &text)
    }

    private func matches(_ key: SearchKey, _ candidate: SearchCandidate, _ text: inout SearchMessageText) -> Bool {
        switch key {
        case .all: return true

        // Flags (RFC 3501 section 6.4.4).
        case .answered: return candidate.flags.contains(MessageFlags.answered)
        case .deleted: return candidate.flags.contains(MessageFlags.deleted)
        case .draft: return candidate.flags.contains(MessageFlags.draft)
        case .flagged: return candidate.flags.contains(MessageFlags.flagged)
        case .seen: return candidate.flags.contains(MessageFlags.seen)
        case .unanswered: return !candidate.flags.contains(MessageFlags.answered)
        case .undeleted: return !candidate.flags.contains(MessageFlags.deleted)
        case .undraft: return !candidate.flags.contains(MessageFlags.draft)
        case .unflagged: return !candidate.flags.contains(MessageFlags.flagged)
        case .unseen: return !candidate.flags.contains(MessageFlags.seen)
        case .recent: return candidate.recent
        case .new: return candidate.recent && !candidate.flags.contains(MessageFlags.seen)
        case .old: return !candidate.recent
        case .keyword(let keyword): return Self.hasKeyword(keyword, candidate.flags)
        case .unkeyword(let keyword): return !Self.hasKeyword(keyword, candidate.flags)

        // Envelope strings, from the stored facts.
        case .subject(let needle):
            return Self.field(candidate.facts.subject, contains: needle)
        case .from(let needle): return Self.addresses(\.from, candidate.facts, contain: needle, or: candidate.facts.from)
        case .to(let needle): return Self.addresses(\.to, candidate.facts, contain: needle, or: candidate.facts.to)
        case .cc(let needle): return Self.addresses(\.cc, candidate.facts, contain: needle, or: candidate.facts.cc)
        case .bcc(let needle): return Self.addresses(\.bcc, candidate.facts, contain: needle, or: candidate.facts.bcc)
        case .header(let name, let needle):
            return header(name, contains: needle, candidate.facts, &text)

        // Message text, from the raw bytes.
        case .body(let needle):
            guard let bodies = text.lowercasedBodyTexts() else { return false }
            let lowered = needle.lowercased()
            return lowered.isEmpty || bodies.contains { SearchSubstring.contains($0, lowered) }
        case .text(let needle):
            guard let header = text.lowercasedHeaderText(), let bodies = text.lowercasedBodyTexts() else { return false }
            let lowered = needle.lowercased()
            return lowered.isEmpty || SearchSubstring.contains(header, lowered)
                || bodies.contains { SearchSubstring.contains($0, lowered) }

        // Dates, whole days.
        case .before(let date): return SearchDay(seconds: candidate.internalDate) < SearchDay(date)
        case .on(let date): return SearchDay(seconds: candidate.internalDate) == SearchDay(date)
        case .since(let date): return SearchDay(seconds: candidate.internalDate) >= SearchDay(date)
        case .sentBefore(let date): return Self.sentDay(candidate).map { $0 < SearchDay(date) } ?? false
        case .sentOn(let date): return Self.sentDay(candidate).map { $0 == SearchDay(date) } ?? false
        case .sentSince(let date): return Self.sentDay(candidate).map { $0 >= SearchDay(date) } ?? false
        // RFC 8514 4.2: the save date's day; every mailbox here keeps save dates.
        case .savedBefore(let date): return SearchDay(seconds: candidate.savedDate) < SearchDay(date)
        case .savedOn(let date): return SearchDay(seconds: candidate.savedDate) == SearchDay(date)
        case .savedSince(let date): return SearchDay(seconds: candidate.savedDate) >= SearchDay(date)
        case .saveDateSupported: return true

        // Sizes: LARGER is strictly larger, SMALLER strictly smaller.
        case .larger(let limit): return candidate.size >= 0 && UInt64(candidate.size) > limit
        case .smaller(let limit): return candidate.size < 0 || UInt64(candidate.size) < limit

        // Sets.
        case .sequenceSet(let set):
            if case .lastCommand = set { return savedResult.contains(candidate.uid) }
            return set.contains(candidate.sequenceNumber, largest: largestSequenceNumber)
        case .uid(let set):
            if case .lastCommand = set { return savedResult.contains(candidate.uid) }
            return set.contains(candidate.uid, largest: largestUID)
        case .modSeq(let modSeq):
            return candidate.modseq >= 0 && UInt64(candidate.modseq) >= modSeq.modSeq
        // Object ids are case-sensitive (RFC 8474 7).
        // RFC 5032: the internal date against the time of the search, to the second.
        case .older(let seconds): return candidate.internalDate < now - Int64(seconds)
        case .younger(let seconds): return candidate.internalDate >= now - Int64(seconds)
        case .emailID(let id): return candidate.emailID == id
        case .threadID(let id): return candidate.threadID == id

        // Combinations: keys that need no message text first, so the text is read only when needed.
        case .not(let inner):
            return !matches(inner, candidate, &text)
        case .or(let left, let right):
            if Self.needsRaw(left) && !Self.needsRaw(right) {
                return matches(right, candidate, &text) || matches(left, candidate, &text)
            }
            return matches(left, candidate, &text) || matches(right, candidate, &text)
        case .and(let keys):
            for key in keys where !Self.needsRaw(key) {
                if !matches(key, candidate, &text) { return false }
            }
            for key in keys where Self.needsRaw(key) {
                if !matches(key, candidate, &text) { return false }
            }
            return true
        }
    }

    // MARK: Helpers

    /// Keywords compare case-insensitively, as most servers do (Dovecot, Cyrus); a system flag
    /// spelled `\Seen` is compared the same way.
    static func hasKeyword(_ keyword: String, _ flags: MessageFlags) -> Bool {
        flags.names.contains { MessageFlags.sameName($0, keyword) }
    }

    /// A single-valued field: absent never matches; an empty needle matches when present.
    static func field(_ value: String?, contains needle: String) -> Bool {
        guard let value else { return false }
        let lowered = needle.lowercased()
        return lowered.isEmpty || SearchSubstring.contains(value.lowercased(), lowered)
    }

    /// `Name <email>`, or `email` alone when there is no name.
    static func display(_ participant: Participant) -> String {
        guard let name = participant.name, !name.isEmpty else { return participant.email }
        return "\(name) <\(participant.email)>"
    }

    static func participants(_ list: [Participant], contain needle: String) -> Bool {
        guard !list.isEmpty else { return false }
        let lowered = needle.lowercased()
        return lowered.isEmpty || list.contains { SearchSubstring.contains(display($0).lowercased(), lowered) }
    }

    /// RFC 9051 section 6.4.4: "Messages that have a header field with the specified field-name
    /// ... and that contains the specified string in the text of the header field (what comes
    /// after the colon). If the string to search is zero-length, this matches all messages that
    /// have a header field with the specified field-name regardless of the contents."
    /// The field's own text is read, not the envelope's rendering of it: quotes, commas, group
    /// syntax and comments all match as written (RFC 2047 words decoded).
    private func header(_ name: String, contains needle: String, _ facts: MessageFacts,
                        _ text: inout SearchMessageText) -> Bool {
        func ids(_ list: [String]) -> String? {
            list.isEmpty ? nil : list.map { "<\($0)>" }.joined(separator: " ")
        }
        switch needle.isEmpty ? "" : name.lowercased() {
        case "subject": return Self.field(facts.subject, contains: needle)
        case "message-id": return Self.field(facts.messageIDHeader.map { "<\($0)>" }, contains: needle)
        case "in-reply-to": return Self.field(ids(facts.inReplyTo), contains: needle)
        case "references": return Self.field(ids(facts.references), contains: needle)
        default: break
        }
        guard let message = text.message() else { return false }
        let fields = message.fields(named: name)
        let lowered = needle.lowercased()
        if lowered.isEmpty { return !fields.isEmpty }
        return fields.contains { SearchSubstring.contains(message.decodedValue(of: $0).lowercased(), lowered) }
    }

    /// An address header as the envelope has it; the stored participants when the envelope cannot be read.
    static func addresses(_ field: KeyPath<EnvelopeText, String?>, _ facts: MessageFacts, contain needle: String,
                          or participants: [Participant]) -> Bool {
        guard let envelope = EnvelopeText(facts.envelope) else { return Self.participants(participants, contain: needle) }
        return Self.field(envelope[keyPath: field], contains: needle)
    }

    /// The day written in the Date header (its local date: the time and zone are disregarded); nil
    /// when there is no Date header that parses, so that no SENT* key matches the message (RFC 3501
    /// 6.4.4 defines them on the header alone).
    static func sentDay(_ candidate: SearchCandidate) -> SearchDay? {
        guard let written = EnvelopeText(candidate.facts.envelope)?.date, let date = MessageDate(parsing: Array(written.utf8)) else {
            return nil
        }
        return SearchDay(seconds: date.secondsSince1970 + Int64(date.utcOffsetMinutes) * 60)
    }
}

/// The message text a search reads, worked out at most once per message and only when asked:
/// one MIME parse, one pass over the text parts.
struct SearchMessageText {
    let raw: [UInt8]?
    private var parsed: MIMEMessage?
    private var bodies: [String]?
    private var header: String?

    init(raw: [UInt8]?) {
        self.raw = raw
    }

    mutating func message() -> MIMEMessage? {
        if let parsed { return parsed }
        guard let raw else { return nil }
        let message = MIMEMessage.parse(raw)
        parsed = message
        return message
    }

    /// The header fields as `Name: decoded value` lines, lowercased.
    mutating func lowercasedHeaderText() -> String? {
        if let header { return header }
        guard let message = message() else { return nil }
        let text = message.root.headers.map { "\($0.name): \(message.decodedValue(of: $0))" }
            .joined(separator: "\n").lowercased()
        header = text
        return text
    }

    /// The decoded text of every text/* part, nested messages' parts and headers included, lowercased.
    mutating func lowercasedBodyTexts() -> [String]? {
        if let bodies { return bodies }
        guard let message = message() else { return nil }
        var texts: [String] = []
        for part in [message.root] + message.root.descendants {
            if let embedded = part.embeddedMessage {
                // The encapsulated message's header is part of the enclosing body's text.
                texts.append(embedded.headers.map { "\($0.name): \(message.decodedValue(of: $0))" }
                    .joined(separator: "\n").lowercased())
            }
            guard part.contentType.isText, !part.isMultipart else { continue }
            let text = message.text(of: part).text
            // HTML matches as written (tags, attributes and entities are in the body, RFC 3501
            // 6.4.4) and as the reader sees it (entities decoded, words split by tags joined).
            if part.contentType.subtype == "html" { texts.append(HTMLText.visibleText(text).lowercased()) }
            texts.append(text.lowercased())
        }
        bodies = texts
        return texts
    }
}

/// A calendar day as days since 1970-01-01 (negative before).
struct SearchDay: Comparable, Hashable, Sendable {
    static let secondsPerDay: Int64 = 86_400
    let days: Int64

    /// The UTC day of an instant.
    init(seconds: Int64) {
        // Floor division, so an instant before 1970 falls on the day it is in.
        let (quotient, remainder) = seconds.quotientAndRemainder(dividingBy: Self.secondsPerDay)
        days = remainder < 0 ? quotient - 1 : quotient
    }

    /// The day of a SEARCH date, by the proleptic Gregorian calendar (Howard Hinnant's
    /// `days_from_civil`). An impossible date such as 31-Feb counts on from the month's start.
    init(_ date: IMAPDate) {
        let year = Int64(date.month <= 2 ? date.year - 1 : date.year)
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let month = Int64(date.month)
        let monthFromMarch = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + Int64(date.day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        days = era * 146_097 + dayOfEra - 719_468
    }

    static func < (left: SearchDay, right: SearchDay) -> Bool { left.days < right.days }
}

/// Substring search over UTF-8 bytes (Knuth-Morris-Pratt: linear in text plus pattern, so a
/// hostile body and search string cannot make it quadratic).
enum SearchSubstring {
    static func contains(_ text: String, _ pattern: String) -> Bool {
        let needle = Array(pattern.utf8)
        guard !needle.isEmpty else { return true }
        var failure = [Int](repeating: 0, count: needle.count)
        var matched = 0
        for index in needle.indices.dropFirst() {
            while matched > 0 && needle[index] != needle[matched] { matched = failure[matched - 1] }
            if needle[index] == needle[matched] { matched += 1 }
            failure[index] = matched
        }
        matched = 0
        for byte in text.utf8 {
            while matched > 0 && byte != needle[matched] { matched = failure[matched - 1] }
            if byte == needle[matched] { matched += 1 }
            if matched == needle.count { return true }
        }
        return false
    }
}
