extension SASL {
    /// A user name and password from PLAIN or LOGIN. Printing one never shows the password.
    ///
    /// PLAIN's message (RFC 4616 section 2):
    /// ```
    /// message = [authzid] UTF8NUL authcid UTF8NUL passwd
    /// authcid = 1*SAFE   ; MUST accept up to 255 octets
    /// passwd  = 1*SAFE   ; MUST accept up to 255 octets
    /// ```
    /// ```
    /// let response = SASL.Base64.decode("dGVzdAB0ZXN0ADEyMzQ=")!       // RFC 4954 section 4.1
    /// let credentials = try SASL.Credentials(plainMessage: response)
    /// // credentials.username == "test", credentials.password == "1234"
    /// ```
    /// Each field is bounded only by the SASL response line (``SMTPLimits/maxAuthLineLength``),
    /// which is above RFC 4616's 255 octets.
    public struct Credentials: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        /// The authentication identity (`authcid`).
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }

        /// Decodes a PLAIN message. The authorization identity must be empty or equal to the
        /// user name: acting as another user is a privilege this server does not grant.
        public init(plainMessage message: [UInt8]) throws(SASLError) {
            let fields = message.split(separator: 0, omittingEmptySubsequences: false)
            guard fields.count == 3 else {
                throw SASLError(.malformedCredentials, "PLAIN message must hold exactly two NUL separators")
            }
            guard let authzid = String(strictUTF8: fields[0]),
                  let authcid = String(strictUTF8: fields[1]),
                  let password = String(strictUTF8: fields[2]) else {
                throw SASLError(.malformedCredentials, "PLAIN message is not UTF-8")
            }
            guard !authcid.isEmpty, !password.isEmpty else {
                throw SASLError(.malformedCredentials, "PLAIN user name and password must not be empty")
            }
            guard authzid.isEmpty || authzid == authcid else {
                throw SASLError(.authorizationIdentityNotPermitted, "PLAIN authorization identity differs from the user name")
            }
            self.init(username: authcid, password: password)
        }

        /// The PLAIN message a client sends: `NUL username NUL password`.
        public var plainMessage: [UInt8] {
            [0] + Array(username.utf8) + [0] + Array(password.utf8)
        }

        public var description: String {
            "Credentials(username: \(username), password: <redacted>)"
        }

        public var debugDescription: String { description }
    }
}

extension String {
    /// The text of `bytes` when they are well-formed UTF-8; nil otherwise.
    init?<Bytes: Collection>(strictUTF8 bytes: Bytes) where Bytes.Element == UInt8 {
        let text = String(decoding: bytes, as: UTF8.self)
        // Decoding replaces ill-formed sequences, so a round trip shows whether there were any.
        guard text.utf8.elementsEqual(bytes) else { return nil }
        self = text
    }
}
