import Foundation
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
/// * FROM, TO, CC: the addr-mailbox of the first address in the ENVELOPE (a group's name for a
///   group); a message without such an address sorts as the empty string, first.
/// * DISPLAYFROM, DISPLAYTO: the first address's display name, or `mailbox@host` without one
///   (RFC 5957 section 3).
/// * SUBJECT: the base subject (section 2.1).
/// Strings compare under i;unicode-casemap (RFC 5051), by `collationKey(_:)`.
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
        let readsAddresses = criteria.contains { [.from, .to, .cc, .displayFrom, .displayTo].contains($0.key) }
        // Each message's values are computed once, not once per comparison.
        let rows = messages.map { message in
            let addresses = readsAddresses ? EnvelopeFirstAddresses(message.facts.envelope) : nil
            return (message, criteria.map { Self.value(of: $0.key, for: message, addresses: addresses) })
        }
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

    static func value(of key: Key, for message: SearchCandidate, addresses: EnvelopeFirstAddresses?) -> Value {
        switch key {
        case .arrival: return .number(message.internalDate)
        case .size: return .number(message.size)
        case .date: return .number(sentDate(of: message))
        case .from: return .text(collationKey(addresses?.from?.mailbox ?? ""))
        case .to: return .text(collationKey(addresses?.to?.mailbox ?? ""))
        case .cc: return .text(collationKey(addresses?.cc?.mailbox ?? ""))
        case .displayFrom: return .text(collationKey(addresses?.from?.displayValue ?? ""))
        case .displayTo: return .text(collationKey(addresses?.to?.displayValue ?? ""))
        case .subject: return .text(collationKey(BaseSubject(message.facts.subject ?? "").text))
        }
    }

    /// The sent date of RFC 5256 section 2.2: the Date header, else the internal date.
    public static func sentDate(of message: SearchCandidate) -> Int64 {
        message.facts.sentDate ?? message.internalDate
    }

    /// The bytes strings compare by under i;unicode-casemap (RFC 5051), which RFC 5256 section 7
    /// requires: each character's simple titlecase mapping, then its compatibility decomposition,
    /// both again on what the decomposition gives, as UTF-8. Swift gives only the full titlecase
    /// mapping; where that is more than one character (`ß` to `Ss`) the simple mapping is the
    /// character itself.
    public static func collationKey(_ text: String) -> [UInt8] {
        var mapped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { appendCaseMapped(scalar, to: &mapped, depth: 0) }
        return Array(String(mapped).utf8)
    }

    private static func appendCaseMapped(_ scalar: Unicode.Scalar, to mapped: inout String.UnicodeScalarView, depth: Int) {
        if scalar.isASCII {
            mapped.append(("a"..."z").contains(scalar) ? Unicode.Scalar(scalar.value - 32)! : scalar)
            return
        }
        let title = scalar.properties.titlecaseMapping.unicodeScalars
        let cased = title.count == 1 ? title.first! : scalar
        let decomposed = String(cased).decomposedStringWithCompatibilityMapping.unicodeScalars
        // Decompositions are a few levels deep at most; the bound only guards against a cycle.
        guard depth < 8, decomposed.count != 1 || decomposed.first != cased else { mapped.append(cased); return }
        for part in decomposed { appendCaseMapped(part, to: &mapped, depth: depth + 1) }
    }
}
