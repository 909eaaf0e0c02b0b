/// A STATUS data item name (RFC 9051 section 6.3.11, RFC 7162, RFC 8438 SIZE).
///
/// ```
/// status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE"
///              / "RECENT" / "HIGHESTMODSEQ" / "APPENDLIMIT" / "MAILBOXID"
/// ```
public enum StatusAttribute: String, Hashable, Sendable, CaseIterable {
    case messages = "MESSAGES"
    case recent = "RECENT"
    case uidNext = "UIDNEXT"
    case uidValidity = "UIDVALIDITY"
    case unseen = "UNSEEN"
    case deleted = "DELETED"
    case size = "SIZE"
    case highestModSeq = "HIGHESTMODSEQ"
    case appendLimit = "APPENDLIMIT"
    /// RFC 8474 4.
    case mailboxID = "MAILBOXID"
}
