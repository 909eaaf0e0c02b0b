/// A FETCH modifier (RFC 4466 section 2.4, RFC 7162 sections 3.1.4 and 3.2.6).
///
/// ```
/// fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
/// fetch-modifier  = chgsince-fetch-mod / "VANISHED"
/// chgsince-fetch-mod = "CHANGEDSINCE" SP mod-sequence-value
/// ```
public enum FetchModifier: Hashable, Sendable {
    case changedSince(UInt64)
    /// Only with UID FETCH and QRESYNC enabled.
    case vanished
}
