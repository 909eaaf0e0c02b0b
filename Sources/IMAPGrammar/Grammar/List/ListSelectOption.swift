/// A LIST selection option (RFC 5258 section 3.1, RFC 6154 section 5.1).
///
/// ```
/// list-select-base-opt = "SUBSCRIBED" / option-extension
/// list-select-mod-opt  = "RECURSIVEMATCH" / option-extension
/// list-select-independent-opt = "REMOTE" / option-extension
/// list-select-opt      =/ "SPECIAL-USE"
/// ```
public enum ListSelectOption: Hashable, Sendable {
    case subscribed
    case remote
    case recursiveMatch
    case specialUse
    /// An option this grammar does not know, upper-cased; the server decides (RFC 5258 section 3)
    /// whether to answer BAD.
    case other(String)
}
