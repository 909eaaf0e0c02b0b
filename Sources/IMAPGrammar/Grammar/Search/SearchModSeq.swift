/// The CONDSTORE `MODSEQ` search key (RFC 7162 section 3.1.5).
///
/// ```
/// search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
/// search-modseq-ext  = SP entry-name SP entry-type-req
/// entry-name         = DQUOTE "/flags/" attr-flag DQUOTE
/// entry-type-req     = "priv" / "shared" / "all"
/// ```
public struct SearchModSeq: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        public enum EntryType: String, Hashable, Sendable { case `private` = "priv", shared, all }
        public var flag: Flag
        public var type: EntryType
        public init(flag: Flag, type: EntryType) {
            self.flag = flag
            self.type = type
        }
    }

    public var entry: Entry?
    public var modSeq: UInt64

    public init(entry: Entry? = nil, modSeq: UInt64) {
        self.entry = entry
        self.modSeq = modSeq
    }
}
