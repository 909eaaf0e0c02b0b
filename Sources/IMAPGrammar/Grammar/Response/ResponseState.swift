/// The status of a tagged or untagged condition response (RFC 9051 section 7.1).
///
/// ```
/// resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text
/// ```
public enum ResponseState: String, Hashable, Sendable {
    case ok = "OK"
    case no = "NO"
    case bad = "BAD"
}
