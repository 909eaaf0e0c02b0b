/// The `BODY=` parameter of MAIL: what the content may contain.
///
/// ```
/// body-value = "7BIT" / "8BITMIME" / "BINARYMIME"   ; RFC 6152 section 2, RFC 3030 section 3
/// ```
public enum MailBodyType: String, Hashable, Sendable, CaseIterable {
    /// Lines of at most 998 octets of 7-bit data (the default without the parameter).
    case sevenBit = "7BIT"
    /// Lines of 8-bit data (RFC 6152).
    case eightBitMIME = "8BITMIME"
    /// Arbitrary octets; only allowed with BDAT (RFC 3030 section 3).
    case binaryMIME = "BINARYMIME"
}
