/// The argument of `SELECT ... (QRESYNC (...))` (RFC 7162 section 3.2.5).
///
/// ```
/// "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
/// seq-match-data = "(" known-sequence-set SP known-uid-set ")"
/// ```
public struct QResyncParameter: Hashable, Sendable {
    public var uidValidity: UInt32
    public var modSeq: UInt64
    public var knownUIDs: SequenceSet?
    /// (known sequence numbers, their UIDs)
    public var sequenceMatch: SequenceMatch?

    public struct SequenceMatch: Hashable, Sendable {
        public var knownSequenceSet: SequenceSet
        public var knownUIDSet: SequenceSet
        public init(knownSequenceSet: SequenceSet, knownUIDSet: SequenceSet) {
            self.knownSequenceSet = knownSequenceSet
            self.knownUIDSet = knownUIDSet
        }
    }

    public init(uidValidity: UInt32, modSeq: UInt64, knownUIDs: SequenceSet? = nil, sequenceMatch: SequenceMatch? = nil) {
        self.uidValidity = uidValidity
        self.modSeq = modSeq
        self.knownUIDs = knownUIDs
        self.sequenceMatch = sequenceMatch
    }
}
