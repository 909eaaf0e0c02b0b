/// A SELECT/EXAMINE parameter (RFC 4466 section 2.1, RFC 7162 sections 3.1.8 and 3.2.5).
///
/// ```
/// select-params = SP "(" select-param *(SP select-param) ")"
/// select-param  = "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
///                 [SP known-uids] [SP seq-match-data] ")" / select-param-name [SP select-param-value]
/// ```
public enum SelectParameter: Hashable, Sendable {
    case condStore
    case qResync(QResyncParameter)
    /// An unknown parameter, name upper-cased; the server should answer BAD.
    case other(String)
}
