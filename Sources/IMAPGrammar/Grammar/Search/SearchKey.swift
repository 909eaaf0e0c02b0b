/// A SEARCH criterion (RFC 9051 section 6.4.4, RFC 3501 section 6.4.4, RFC 7162 MODSEQ).
///
/// ```
/// search-key = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date / "BODY" SP astring /
///              "CC" SP astring / "DELETED" / "FLAGGED" / "FROM" SP astring / "KEYWORD" SP flag-keyword /
///              "NEW" / "OLD" / "ON" SP date / "RECENT" / "SEEN" / "SINCE" SP date / "SUBJECT" SP astring /
///              "TEXT" SP astring / "TO" SP astring / "UNANSWERED" / "UNDELETED" / "UNFLAGGED" /
///              "UNKEYWORD" SP flag-keyword / "UNSEEN" / "DRAFT" / "HEADER" SP header-fld-name SP astring /
///              "LARGER" SP number64 / "NOT" SP search-key / "OR" SP search-key SP search-key /
///              "SENTBEFORE" SP date / "SENTON" SP date / "SENTSINCE" SP date / "SMALLER" SP number64 /
///              "UID" SP sequence-set / "UNDRAFT" / sequence-set / "(" search-key *(SP search-key) ")" /
///              search-modsequence
/// ```
/// String arguments are the bytes of the astring, decoded as UTF-8 (the only charset besides
/// US-ASCII a server must support).
public indirect enum SearchKey: Hashable, Sendable {
    case all
    case answered, deleted, draft, flagged, new, old, recent, seen
    case unanswered, undeleted, undraft, unflagged, unseen
    case bcc(String), body(String), cc(String), from(String), subject(String), text(String), to(String)
    case keyword(String), unkeyword(String)
    case header(String, String)
    case before(IMAPDate), on(IMAPDate), since(IMAPDate)
    case sentBefore(IMAPDate), sentOn(IMAPDate), sentSince(IMAPDate)
    case larger(UInt64), smaller(UInt64)
    case uid(SequenceSet)
    case sequenceSet(SequenceSet)
    case not(SearchKey)
    case or(SearchKey, SearchKey)
    /// All keys must match: a parenthesised list, or several keys at the top level.
    case and([SearchKey])
    case modSeq(SearchModSeq)
    /// `EMAILID objectid`, `THREADID objectid` (RFC 8474 6).
    case emailID(String)
    case threadID(String)
    /// `OLDER n`, `YOUNGER n`: the internal date is more than / at most `n` seconds ago (RFC 5032).
    case older(UInt32), younger(UInt32)
    /// `SAVEDBEFORE date`, `SAVEDON date`, `SAVEDSINCE date`, `SAVEDATESUPPORTED` (RFC 8514 4.2).
    case savedBefore(IMAPDate), savedOn(IMAPDate), savedSince(IMAPDate)
    case saveDateSupported
}
