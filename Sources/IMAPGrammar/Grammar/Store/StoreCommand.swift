/// The arguments of STORE and UID STORE (RFC 9051 section 6.4.6).
///
/// ```
/// store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags
/// ```
public struct StoreCommand: Hashable, Sendable {
    public var sequenceSet: SequenceSet
    public var modifiers: [StoreModifier]
    public var flags: StoreFlags

    public init(sequenceSet: SequenceSet, modifiers: [StoreModifier] = [], flags: StoreFlags) {
        self.sequenceSet = sequenceSet
        self.modifiers = modifiers
        self.flags = flags
    }
}
