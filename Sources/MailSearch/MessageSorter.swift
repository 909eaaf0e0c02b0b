import MailCore

/// Orders messages for SORT (RFC 5256 section 3, RFC 5957 DISPLAYFROM/DISPLAYTO).
///
/// ```
/// C: A282 SORT (SUBJECT REVERSE DATE) UTF-8 ALL
/// S: * SORT 5 3 4 1 2
/// ```
///
/// Each key compares one value per message; the first key that tells two messages apart decides,
/// and messages equal on every key stay in mailbox (sequence number) order, as section 3 requires.
/// `REVERSE` reverses its own key only.
/// * ARRIVAL: the internal date. SIZE: RFC822.SIZE.
/// * DATE: the Date header's time in UTC, or the internal date when there is no usable Date header
///   (section 2.2).
/// * FROM, TO, CC: the mailbox part (before the `@`) of the header's first address; a message
///   without such an address sorts as the empty string, first.
/// * DISPLAYFROM, DISPLAYTO: the first address's display name, or its `mailbox@host` without one
///   (RFC 5957 section 2).
/// * SUBJECT: the base subject (section 2.1).
/// Strings compare case-insensitively: upper-cased, then by UTF-8 bytes.
public struct MessageSorter: Sendable {
    public let criteria: [SortCriterionKey]

    /// What one key reads, so that the sorter does not depend on the command grammar.
    public enum Key: Sendable, Hashable {
        case arrival, cc, date, from, size, subject, to, displayFrom, displayTo
    }

    public struct SortCriterionKey: Sendable, Hashable {
        public var key: Key
        public var reverse: Bool

        public init(_ key: Key, reverse: Bool = false) {
            self.key = key
            self.reverse = reverse
        }
    }

    public init(_ criteria: [SortCriterionKey]) {
        self.criteria = criteria
    }

    /// `messages` in sort order.
    public func sorted(_ messages: [SearchCandidate]) -> [SearchCandidate] {
        // Each message's values are computed once, not once per comparison.
        let rows = messages.map { message in (message, criteria.map { Self.value(of: $0.key, for: message) }) }
        return rows.sorted { a, b in
            for (index, criterion) in criteria.enumerated() {
                let order = a.1[index].compare(b.1[index])
                if order != 0 { return criterion.reverse ? order > 0 : order < 0 }
            }
            return a.0.sequenceNumber < b.0.sequenceNumber
        }.map(\.0)
    }

    enum Value: Sendable {
        case number(Int64)
        case text([UInt8])

        /// Negative, zero or positive, as `self` sorts before, with or after `other`.
        func compare(_ other: Value) -> Int {
            switch (self, other) {
            case (.number(let a), .number(let b)): return a < b ? -1 : (a > b ? 1 : 0)
            case (.text(let a), .text(let b)): return a.lexicographicallyPrecedes(b) ? -1 : (a == b ? 0 : 1)
            default: return 0
            }
        }
    }

    static func value(of key: Key, for message: SearchCandidate) -> Value {
        let facts = message.facts
        switch key {
        case .arrival: return .number(message.internalDate)
        case .size: return .number(message.size)
        case .date: return .number(sentDate(of: message))
        case .from: return .text(collationKey(mailboxPart(facts.from.first)))
        case .to: return .text(collationKey(mailboxPart(facts.to.first)))
        case .cc: return .text(collationKey(mailboxPart(facts.cc.first)))
        case .displayFrom: return .text(collationKey(displayName(facts.from.first)))
        case .displayTo: return .text(collationKey(displayName(facts.to.first)))
        case .subject: return .text(collationKey(BaseSubject(facts.subject ?? "").text))
        }
    }

    /// The sent date of RFC 5256 section 2.2: the Date header, else the internal date.
    public static func sentDate(of message: SearchCandidate) -> Int64 {
        message.facts.sentDate ?? message.internalDate
    }

    /// The key strings compare by: case folded the way i;unicode-casemap starts (to upper case).
    public static func collationKey(_ text: String) -> [UInt8] {
        Array(text.uppercased().utf8)
    }

    static func mailboxPart(_ participant: Participant?) -> String {
        guard let email = participant?.email else { return "" }
        guard let at = email.lastIndex(of: "@") else { return email }
        return String(email[..<at])
    }

    static func displayName(_ participant: Participant?) -> String {
        guard let participant else { return "" }
        if let name = participant.name?.trimmingWhitespace(), !name.isEmpty { return name }
        return participant.email
    }
}
