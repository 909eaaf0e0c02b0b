/// The untagged ESEARCH response (RFC 4731 section 3.1, RFC 9051 section 7.3.4, RFC 7162).
///
/// ```
/// esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
/// search-correlator = SP "(" "TAG" SP tag-string ")"
/// search-return-data = "MIN" SP nz-number / "MAX" SP nz-number / "ALL" SP sequence-set /
///                      "COUNT" SP number / "MODSEQ" SP mod-sequence-value
/// ```
/// `S: * ESEARCH (TAG "A282") MIN 2 COUNT 3`
public struct ESearchResponse: Hashable, Sendable {
    public var tag: String?
    public var uid: Bool
    public var min: UInt32?
    public var max: UInt32?
    public var all: SequenceSet?
    public var count: Int?
    public var modSeq: UInt64?

    public init(tag: String?, uid: Bool = false, min: UInt32? = nil, max: UInt32? = nil, all: SequenceSet? = nil,
                count: Int? = nil, modSeq: UInt64? = nil) {
        self.tag = tag
        self.uid = uid
        self.min = min
        self.max = max
        self.all = all
        self.count = count
        self.modSeq = modSeq
    }

    func write(into writer: inout ResponseWriter) {
        writer.writeString("ESEARCH")
        if let tag {
            writer.writeString(" (TAG ")
            writer.writeIMAPString(tag)
            writer.writeString(")")
        }
        if uid { writer.writeString(" UID") }
        if let min { writer.writeString(" MIN \(min)") }
        if let max { writer.writeString(" MAX \(max)") }
        if let all { writer.writeString(" ALL \(all.wire)") }
        if let count { writer.writeString(" COUNT \(count)") }
        if let modSeq { writer.writeString(" MODSEQ \(modSeq)") }
    }
}
