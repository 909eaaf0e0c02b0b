import MailCore
import NIOPosix

/// bcrypt on NIO's blocking thread pool: a hash takes tens of milliseconds of CPU, which must
/// stall neither an event loop nor Swift's cooperative threads.
public struct PasswordHasher: Sendable {
    public let cost: Int
    private let pool: NIOThreadPool

    public init(cost: Int, pool: NIOThreadPool = .singleton) {
        self.cost = cost
        self.pool = pool
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await pool.runIfActive { try BCrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, against storedHash: String) async -> Bool {
        (try? await pool.runIfActive { BCrypt.verify(password, against: storedHash) }) ?? false
    }
}
