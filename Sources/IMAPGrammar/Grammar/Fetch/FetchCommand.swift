/// The arguments of FETCH and UID FETCH (RFC 9051 section 6.4.5).
///
/// ```
/// fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
///         "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
/// ```
public struct FetchCommand: Hashable, Sendable {
    public var sequenceSet: SequenceSet
    public var attributes: [FetchAttribute]
    public var modifiers: [FetchModifier]

    public init(sequenceSet: SequenceSet, attributes: [FetchAttribute], modifiers: [FetchModifier] = []) {
        self.sequenceSet = sequenceSet
        self.attributes = attributes
        self.modifiers = modifiers
    }
}
