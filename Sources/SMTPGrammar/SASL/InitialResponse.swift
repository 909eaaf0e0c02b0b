extension SASL {
    /// The optional initial response of AUTH (RFC 4954 section 4).
    ///
    /// ```
    /// initial-response = base64 / "="     ; "=" is a response of zero length
    /// ```
    public enum InitialResponse: Hashable, Sendable {
        /// `=`: a response that is present but empty (e.g. AUTH EXTERNAL with the derived identity).
        case empty
        /// The decoded bytes of a non-empty response.
        case data([UInt8])

        /// The bytes of the response; empty for ``empty``.
        public var bytes: [UInt8] {
            switch self {
            case .empty: return []
            case .data(let bytes): return bytes
            }
        }

        /// `=` or the base64 of the bytes.
        public var wireForm: String {
            switch self {
            case .empty: return "="
            case .data(let bytes): return bytes.isEmpty ? "=" : Base64.encode(bytes)
            }
        }
    }
}
