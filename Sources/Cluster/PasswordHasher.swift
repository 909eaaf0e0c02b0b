import Crypto
import Foundation
import MailCore
import Metrics
import NIOConcurrencyHelpers
import NIOPosix

/// bcrypt on NIO's blocking thread pool: a hash takes tens of milliseconds of CPU, which must
/// stall neither an event loop nor Swift's cooperative threads.
///
/// Verified passwords are remembered (`VerifiedCredentials`), so that a client that logs in
/// often pays bcrypt once, not on every login.
public struct PasswordHasher: Sendable {
    public let cost: Int
    private let pool: NIOThreadPool
    private let verified: VerifiedCredentials

    public init(cost: Int, pool: NIOThreadPool = .singleton, verifiedCapacity: Int = VerifiedCredentials.defaultCapacity) {
        self.cost = cost
        self.pool = pool
        verified = VerifiedCredentials(capacity: verifiedCapacity)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await pool.runIfActive { try BCrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, against storedHash: String) async -> Bool {
        if verified.contains(password, for: storedHash) {
            Counter(label: "mailnode_password_checks_total", dimensions: [("result", "cached")]).increment()
            return true
        }
        // Sessions of one client often log in together: they share one bcrypt run.
        let pool = self.pool, verified = self.verified
        let (check, isFirst) = verified.inFlight(password, for: storedHash) {
            Task {
                let matches = (try? await pool.runIfActive { BCrypt.verify(password, against: storedHash) }) ?? false
                Counter(label: "mailnode_password_checks_total", dimensions: [("result", matches ? "bcrypt_match" : "bcrypt_mismatch")])
                    .increment()
                if matches { verified.insert(password, for: storedHash) }
                return matches
            }
        }
        let matches = await check.value
        if isFirst { verified.finished(password, for: storedHash) }
        return matches
    }
}

/// Passwords that bcrypt already accepted, per stored hash. An entry is an HMAC-SHA256 of the
/// password under a key this process draws at start and never shows, so the cache holds no password
/// and nothing that outlives the process. Entries are keyed by the stored bcrypt hash itself: a
/// changed password has a new hash, so on every node the old entry stops matching the moment the
/// grant row changes, with nothing to invalidate.
public final class VerifiedCredentials: Sendable {
    /// Entries kept at most; past it, the oldest half goes.
    public static let defaultCapacity = 100_000

    private let key = SymmetricKey(size: .bits256)
    private let capacity: Int
    private let entries = NIOLockedValueBox(Entries())
    private let running = NIOLockedValueBox([Data: Task<Bool, Never>]())

    private struct Entries {
        var byHash: [String: Data] = [:]
        var order: [String] = []
    }

    public init(capacity: Int = VerifiedCredentials.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    private func mac(_ password: String, _ storedHash: String) -> Data {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Data(storedHash.utf8))
        hmac.update(data: [0])
        hmac.update(data: Data(password.utf8))
        return Data(hmac.finalize())
    }

    func contains(_ password: String, for storedHash: String) -> Bool {
        let expected = mac(password, storedHash)
        guard let known = entries.withLockedValue({ $0.byHash[storedHash] }) else { return false }
        // Constant time: the comparison must not tell how much of a guess was right.
        guard known.count == expected.count else { return false }
        return zip(known, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    func insert(_ password: String, for storedHash: String) {
        let value = mac(password, storedHash)
        let capacity = self.capacity
        entries.withLockedValue { entries in
            if entries.byHash.updateValue(value, forKey: storedHash) == nil { entries.order.append(storedHash) }
            if entries.order.count > capacity {
                let dropped = entries.order.prefix(entries.order.count - capacity / 2)
                for hash in dropped { entries.byHash[hash] = nil }
                entries.order.removeFirst(dropped.count)
            }
        }
    }

    /// The bcrypt run already checking this password against this hash, or a new one from `start`;
    /// `isFirst` tells the caller that started it (who calls `finished`).
    func inFlight(_ password: String, for storedHash: String,
                  start: () -> Task<Bool, Never>) -> (task: Task<Bool, Never>, isFirst: Bool) {
        let key = mac(password, storedHash)
        return running.withLockedValue { running in
            if let task = running[key] { return (task, false) }
            let task = start()
            running[key] = task
            return (task, true)
        }
    }

    func finished(_ password: String, for storedHash: String) {
        let key = mac(password, storedHash)
        _ = running.withLockedValue { $0.removeValue(forKey: key) }
    }

    var count: Int { entries.withLockedValue { $0.byHash.count } }
}
