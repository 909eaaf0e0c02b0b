/// Why an AUTH exchange failed, and the reply it deserves (RFC 4954 sections 4 and 6).
public struct SASLError: Error, Hashable, Sendable, SMTPReplyConvertible {
    public enum Kind: Hashable, Sendable {
        /// The client answered a challenge with `*`: `501 5.0.0`.
        case cancelled
        /// A response is not strict base64: `501 5.5.2`.
        case invalidBase64
        /// The decoded response does not have the mechanism's shape (PLAIN without two NULs,
        /// an empty user name, text that is not UTF-8): `535 5.7.8`.
        case malformedCredentials
        /// PLAIN named an authorization identity other than the authentication identity;
        /// acting for another user is not supported: `535 5.7.8`.
        case authorizationIdentityNotPermitted
    }

    public var kind: Kind
    /// Detail for logs; the reply keeps the standard text so that it reveals nothing.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var reply: SMTPReply {
        switch kind {
        case .cancelled: return .authenticationCancelled
        case .invalidBase64: return .invalidBase64
        case .malformedCredentials, .authorizationIdentityNotPermitted: return .authenticationFailed
        }
    }
}
