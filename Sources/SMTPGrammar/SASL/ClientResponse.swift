extension SASL {
    /// One line a client sends in answer to a `334` challenge (RFC 4954 section 4).
    ///
    /// ```
    /// C: dGVzdAB0ZXN0ADEyMzQ=    -> .data("test\0test\01234")
    /// C:                         -> .data([])   (an empty response)
    /// C: *                       -> .cancel     S: 501 5.0.0 Authentication cancelled
    /// ```
    public enum ClientResponse: Hashable, Sendable {
        case data([UInt8])
        /// `*`: the client gives up; answer ``SMTPReply/authenticationCancelled``.
        case cancel

        /// Parses a line without its line ending; throws ``SASLError/Kind/invalidBase64``.
        public init<Bytes: Collection>(line: Bytes) throws(SASLError) where Bytes.Element == UInt8 {
            if line.count == 1, line.first == UInt8(ascii: "*") {
                self = .cancel
                return
            }
            guard let bytes = Base64.decode(line) else {
                throw SASLError(.invalidBase64, "response is not valid base64")
            }
            self = .data(bytes)
        }

        public init(line: String) throws(SASLError) {
            try self.init(line: Array(line.utf8))
        }
    }
}
