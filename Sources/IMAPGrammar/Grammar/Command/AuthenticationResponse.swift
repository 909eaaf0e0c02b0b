/// A client line during an AUTHENTICATE exchange (RFC 9051 section 6.2.2).
///
/// ```
/// authenticate = ... *(CRLF base64)
/// C: base64-line CRLF    (or "*" CRLF to cancel)
/// ```
public enum AuthenticationResponse: Hashable, Sendable {
    /// The base64-decoded bytes of one line (possibly empty).
    case data([UInt8])
    /// `*`: the client cancels; the server answers `tag BAD` and the parser is back in command mode.
    case cancel
}
