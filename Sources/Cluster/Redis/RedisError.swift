/// An error from the Redis client.
///
/// Follows the shape of postgres-nio's errors: a struct carrying an extensible ``Code`` (a struct
/// wrapping a private enum, so new codes do not break exhaustive switches in callers) plus details.
///
/// ```swift
/// do { _ = try await redis.send(["INCR", "not-a-number"]) }
/// catch let error as RedisError where error.code == .server { print(error.serverMessage!) }
/// ```
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable {
            case server
            case connectionFailed
            case connectionClosed
            case timeout
            case protocolError
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The server answered with an error reply (`-ERR ...`, `-WRONGTYPE ...`).
        public static let server = Code(.server)
        /// No connection could be opened (refused, unreachable, AUTH/SELECT rejected, or the client is
        /// waiting out its reconnect backoff).
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection closed (or was closed by this client) before the reply arrived.
        public static let connectionClosed = Code(.connectionClosed)
        /// No reply arrived within the command timeout; the connection was reset.
        public static let timeout = Code(.timeout)
        /// The bytes from the server were not valid RESP, or arrived with no command waiting.
        public static let protocolError = Code(.protocolError)

        public var description: String {
            switch self.base {
            case .server: return "server"
            case .connectionFailed: return "connectionFailed"
            case .connectionClosed: return "connectionClosed"
            case .timeout: return "timeout"
            case .protocolError: return "protocolError"
            }
        }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The server's error line for ``Code/server`` (for example `WRONGTYPE Operation against a key
    /// holding the wrong kind of value`), otherwise a human-readable detail.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The server's error line, when ``code`` is ``Code/server``.
    public var serverMessage: String? {
        self.code == .server ? self.message : nil
    }

    /// The first word of a server error (`ERR`, `WRONGTYPE`, `NOAUTH`, ...), which Redis uses as the
    /// machine-readable error kind.
    public var serverErrorKind: String? {
        guard self.code == .server else { return nil }
        return self.message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    public static func server(_ message: String) -> RedisError {
        RedisError(code: .server, message: message)
    }

    public static func connectionFailed(_ detail: String) -> RedisError {
        RedisError(code: .connectionFailed, message: detail)
    }

    public static func connectionClosed(_ detail: String = "the connection to Redis closed") -> RedisError {
        RedisError(code: .connectionClosed, message: detail)
    }

    public static func timeout(_ detail: String) -> RedisError {
        RedisError(code: .timeout, message: detail)
    }

    public static func protocolError(_ detail: String) -> RedisError {
        RedisError(code: .protocolError, message: detail)
    }

    public var description: String {
        switch self.code {
        case .server:
            return "Redis error: \(self.message)"
        default:
            return "Redis \(self.code): \(self.message)"
        }
    }
}
