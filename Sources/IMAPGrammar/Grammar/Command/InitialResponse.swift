/// The optional SASL initial response of AUTHENTICATE (RFC 4959).
///
/// ```
/// authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]
/// initial-resp = (base64 / "=")   ; "=" means an empty response
/// ```
public enum InitialResponse: Hashable, Sendable {
    /// `=`: the mechanism's initial response is empty.
    case empty
    /// The base64-decoded bytes.
    case data([UInt8])
}
