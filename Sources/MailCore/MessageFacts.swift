/// A name and address as a message header shows it (`From`, `To`, ...), the API's participant object.
public struct Participant: Sendable, Hashable, Codable {
    public var name: String?
    public var email: String

    public init(name: String? = nil, email: String) {
        self.name = name
        self.email = email
    }
}

/// What the store keeps about a message besides its bytes: computed once, by the caller, from the
/// MIME parser when the message is written (APPEND, delivery, submission, API send), and never again
/// per FETCH. The IMAP strings are opaque to the store: it keeps and returns them verbatim.
///
/// The RFC822.SIZE is not part of the facts: the store takes it from the bytes it stores.
public struct MessageFacts: Sendable, Hashable {
    /// The `Message-ID` header without angle brackets (see `MessageFacts.normalizeMessageID`).
    public var messageIDHeader: String?
    /// `In-Reply-To` ids, without angle brackets.
    public var inReplyTo: [String]
    /// `References` ids, oldest first, without angle brackets.
    public var references: [String]
    /// The decoded `Subject`.
    public var subject: String?
    /// The subject with `Re:`/`Fwd:`-style prefixes removed, for threading.
    public var normalizedSubject: String
    /// Whether the subject carried a reply or forward prefix.
    public var subjectHasReplyPrefix: Bool
    public var from: [Participant]
    public var to: [Participant]
    public var cc: [Participant]
    public var bcc: [Participant]
    public var replyTo: [Participant]
    /// The `Date` header as seconds since 1970.
    public var sentDate: Int64?
    /// Plain text preview (the API's `snippet`).
    public var snippet: String
    public var hasAttachments: Bool
    /// The IMAP `ENVELOPE` as it goes on the wire (RFC 9051 7.5.2).
    public var envelope: String
    /// The IMAP `BODYSTRUCTURE` (with extension data) as it goes on the wire.
    public var bodyStructure: String
    /// The IMAP `BODY` (without extension data) as it goes on the wire.
    public var body: String
    /// Extra facts as JSON text (attachment metadata for the API, ...); must be valid JSON.
    public var extraJSON: String

    public init(
        messageIDHeader: String? = nil, inReplyTo: [String] = [], references: [String] = [],
        subject: String? = nil, from: [Participant] = [], to: [Participant] = [], cc: [Participant] = [],
        bcc: [Participant] = [], replyTo: [Participant] = [], sentDate: Int64? = nil, snippet: String = "",
        hasAttachments: Bool = false, envelope: String = "NIL", bodyStructure: String = "NIL", body: String = "NIL",
        extraJSON: String = "{}"
    ) {
        self.messageIDHeader = messageIDHeader.flatMap(MessageFacts.normalizeMessageID)
        self.inReplyTo = MessageFacts.limitReferences(inReplyTo.compactMap(MessageFacts.normalizeMessageID))
        self.references = MessageFacts.limitReferences(references.compactMap(MessageFacts.normalizeMessageID))
        self.subject = subject
        let threadSubject = MessageFacts.threadSubject(subject ?? "")
        self.normalizedSubject = threadSubject.normalized
        self.subjectHasReplyPrefix = threadSubject.hadPrefix
        self.from = from
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.replyTo = replyTo
        self.sentDate = sentDate
        self.snippet = snippet
        self.hasAttachments = hasAttachments
        self.envelope = envelope
        self.bodyStructure = bodyStructure
        self.body = body
        self.extraJSON = extraJSON
    }

    /// The longest Message-ID kept (bytes): ids are indexed, and an index entry must stay well
    /// under Postgres's limit of about 2700 bytes. Real ids are far shorter; a longer one is ignored.
    public static let maximumMessageIDLength = 512
    /// The most ids of `References`/`In-Reply-To` kept: the first (the thread's root) and the latest.
    public static let maximumReferences = 100
    /// The longest normalized subject kept for threading, in characters.
    public static let maximumThreadSubjectLength = 256

    /// `<abc@host>` and ` abc@host ` both become `abc@host`; an empty or overlong id becomes `nil`.
    /// Ids are compared exactly after this (RFC 5322 3.6.4 gives no case folding).
    public static func normalizeMessageID(_ text: String) -> String? {
        var trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("<") { trimmed.removeFirst() }
        if trimmed.hasSuffix(">") { trimmed.removeLast() }
        trimmed = trimmed.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.utf8.count <= maximumMessageIDLength else { return nil }
        return trimmed
    }

    /// Whether some text of these facts holds NUL. Postgres text cannot, so the store drops it:
    /// a copy of these facts kept beside the store would not be what the store reads back.
    public var holdsNUL: Bool {
        func holds(_ text: String?) -> Bool { text?.utf8.contains(0) ?? false }
        let texts = [messageIDHeader, subject, normalizedSubject, snippet, envelope, bodyStructure, body, extraJSON]
        let participants = from + to + cc + bcc + replyTo
        return texts.contains(where: holds) || inReplyTo.contains(where: holds) || references.contains(where: holds)
            || participants.contains { holds($0.name) || holds($0.email) }
    }

    /// These facts with every limit applied again (ids normalized and bounded, thread subject
    /// truncated), for fields a caller may have set directly: what a store indexes must fit.
    public var bounded: MessageFacts {
        var copy = self
        copy.messageIDHeader = messageIDHeader.flatMap(MessageFacts.normalizeMessageID)
        copy.inReplyTo = MessageFacts.limitReferences(inReplyTo.compactMap(MessageFacts.normalizeMessageID))
        copy.references = MessageFacts.limitReferences(references.compactMap(MessageFacts.normalizeMessageID))
        copy.normalizedSubject = String(normalizedSubject.prefix(MessageFacts.maximumThreadSubjectLength))
        return copy
    }

    static func limitReferences(_ ids: [String]) -> [String] {
        guard ids.count > maximumReferences else { return ids }
        return [ids[0]] + ids.suffix(maximumReferences - 1)
    }

    /// The longest prefix list we strip (`Re: Fwd: RE: ...` chains), so a hostile subject cannot loop long.
    public static let maximumSubjectPrefixes = 32

    /// Removes reply and forward prefixes (`Re:`, `RE[2]:`, `Fwd:`, `Fw:`, `Aw:`, `Sv:`, `Tr:`) and
    /// collapses white space, lower-cased: two subjects belong to one thread when these are equal
    /// (after RFC 5256 2.1 "base subject", simplified).
    public static func threadSubject(_ subject: String) -> (normalized: String, hadPrefix: Bool) {
        var rest = Substring(subject.trimmingWhitespace())
        var hadPrefix = false
        let prefixes = ["re", "fwd", "fw", "aw", "sv", "tr", "wg"]
        for _ in 0..<maximumSubjectPrefixes {
            rest = rest.drop(while: { $0 == " " || $0 == "\t" })
            guard let colon = rest.firstIndex(of: ":") else { break }
            var word = rest[..<colon].lowercased()
            // "Re[2]:" and "Re(2):"
            if let open = word.firstIndex(where: { $0 == "[" || $0 == "(" }), word.hasSuffix("]") || word.hasSuffix(")") {
                word = String(word[..<open])
            }
            word = word.trimmingWhitespace()
            guard prefixes.contains(word) else { break }
            rest = rest[rest.index(after: colon)...]
            hadPrefix = true
        }
        let words = rest.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" })
        return (String(words.joined(separator: " ").lowercased().prefix(maximumThreadSubjectLength)), hadPrefix)
    }
}
