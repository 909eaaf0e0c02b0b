/// A command continuation request (RFC 9051 section 7.5).
///
/// ```
/// continue-req = "+" SP (resp-text / base64) CRLF
/// ```
/// `S: + Ready for literal data`, `S: + idling`, `S: + ` (empty SASL challenge).
public enum ContinuationRequest: Hashable, Sendable {
    case text(ResponseText)
    /// A SASL challenge, base64 encoded on the wire.
    case challenge([UInt8])

    public static let ready = ContinuationRequest.text(ResponseText(text: "Ready for literal data"))

    func write(into writer: inout ResponseWriter) {
        writer.writeString("+ ")
        switch self {
        case .text(let text): text.write(into: &writer)
        case .challenge(let bytes): writer.writeString(Base64.encode(bytes))
        }
        writer.writeCRLF()
    }
}
