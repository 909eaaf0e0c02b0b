/// A STORE modifier (RFC 4466 section 2.5, RFC 7162 section 3.1.3).
///
/// ```
/// store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"
/// store-modifier  = "UNCHANGEDSINCE" SP mod-sequence-valzer
/// ```
public enum StoreModifier: Hashable, Sendable {
    case unchangedSince(UInt64)
}
