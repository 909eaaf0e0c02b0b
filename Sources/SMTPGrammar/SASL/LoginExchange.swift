extension SASL {
    /// The server side of the LOGIN mechanism (draft-murchison-sasl-login): two base64 prompts,
    /// `Username:` and `Password:`, each answered with one base64 line. Many clients still
    /// offer only LOGIN.
    ///
    /// ```
    /// C: AUTH LOGIN          exchange.start(initialResponse: nil)
    /// S: 334 VXNlcm5hbWU6    -> .sendChallenge
    /// C: dGVzdA==            exchange.receive(line)
    /// S: 334 UGFzc3dvcmQ6    -> .sendChallenge
    /// C: MTIzNA==            exchange.receive(line)
    ///                        -> .authenticate(Credentials(username: "test", password: "1234"))
    /// ```
    /// `AUTH LOGIN dGVzdA==` carries the user name as an initial response and skips the first
    /// prompt.
    public struct LoginExchange: Sendable {
        public enum Action: Hashable, Sendable {
            /// Send this `334` reply and read the next line in ``SMTPLineReader/Mode/saslResponse`` mode.
            case sendChallenge(SMTPReply)
            /// The exchange is complete: check the credentials, answer `235` or `535`.
            case authenticate(Credentials)
            /// The exchange failed: send ``SASLError/reply``.
            case fail(SASLError)
        }

        /// `Username:` in base64.
        public static let usernamePrompt = "VXNlcm5hbWU6"
        /// `Password:` in base64.
        public static let passwordPrompt = "UGFzc3dvcmQ6"

        private enum State: Sendable {
            case notStarted
            case awaitingUsername
            case awaitingPassword(username: String)
            case finished
        }

        private var state = State.notStarted

        public init() {}

        /// Begins the exchange after `AUTH LOGIN [initial-response]`.
        public mutating func start(initialResponse: InitialResponse?) -> Action {
            guard case .notStarted = state else { return finish(.malformedCredentials, "the exchange has already started") }
            guard let initialResponse else {
                state = .awaitingUsername
                return .sendChallenge(SMTPReply(code: 334, Self.usernamePrompt))
            }
            return receiveUsername(initialResponse.bytes)
        }

        /// Handles one response line, without its line ending.
        public mutating func receive<Bytes: Collection>(_ line: Bytes) -> Action where Bytes.Element == UInt8 {
            let response: ClientResponse
            do {
                response = try ClientResponse(line: line)
            } catch {
                return finish(error.kind, error.message)
            }
            guard case .data(let bytes) = response else { return finish(.cancelled, "client cancelled") }
            switch state {
            case .awaitingUsername:
                return receiveUsername(bytes)
            case .awaitingPassword(let username):
                guard let password = String(strictUTF8: bytes), !password.isEmpty else {
                    return finish(.malformedCredentials, "LOGIN password is empty or not UTF-8")
                }
                state = .finished
                return .authenticate(Credentials(username: username, password: password))
            case .notStarted, .finished:
                return finish(.malformedCredentials, "no LOGIN exchange in progress")
            }
        }

        private mutating func receiveUsername(_ bytes: [UInt8]) -> Action {
            guard let username = String(strictUTF8: bytes), !username.isEmpty else {
                return finish(.malformedCredentials, "LOGIN user name is empty or not UTF-8")
            }
            state = .awaitingPassword(username: username)
            return .sendChallenge(SMTPReply(code: 334, Self.passwordPrompt))
        }

        private mutating func finish(_ kind: SASLError.Kind, _ message: String) -> Action {
            state = .finished
            return .fail(SASLError(kind, message))
        }
    }
}
