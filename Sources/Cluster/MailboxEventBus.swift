import Logging
import MailCore
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Mailbox changes across the region's nodes: the store announces each committed change on the
/// grant's channel `mailbox:<grant id>`; every node subscribes to `mailbox:*` once and hands each
/// announcement to its own sessions of that grant (IDLE pushes, untagged updates).
public final class MailboxEventBus: MailboxChangeNotifier, CredentialsChangeNotifier, Service, Sendable {
    public static func channel(_ grant: GrantID) -> String { "mailbox:\(grant.rawValue)" }
    /// Rung when a submission queued outbound mail: the region's delivery workers look for it at once.
    static let outboundChannel = "mailbox:outbound"
    static let credentialsPrefix = "credentials:"

    /// What a session hears.
    public enum Event: Sendable {
        /// `modseq` is the change's own (nil from announcers that do not say it): a session that
        /// already knows that modseq has nothing to read.
        case mailboxChanged(folderID: String?, modseq: Int64?)
        case credentialsChanged
    }

    private let publisher: RedisClient
    private let subscriber: RedisSubscriber
    private let logger: Logger
    private let listeners = NIOLockedValueBox([GrantID: [Int: @Sendable (Event) -> Void]]())
    private let healthy = NIOLockedValueBox(false)
    /// How often the bus checks that Redis answers.
    public static let healthCheckInterval: Duration = .seconds(5)

    /// Whether announcements are flowing: Redis answered the last check. Sessions read the change
    /// log more often while it is false.
    public var isHealthy: Bool { healthy.withLockedValue { $0 } }
    private let nextToken = NIOLockedValueBox(0)
    private let everyGrantListeners = NIOLockedValueBox([@Sendable () -> Void]())
    private let outboundListeners = NIOLockedValueBox([@Sendable () -> Void]())
    private let firstSubscription = NIOLockedValueBox((confirmed: false, waiters: [CheckedContinuation<Void, Never>]()))

    public init(publisher: RedisClient, subscriber: RedisSubscriber, logger: Logger) {
        self.publisher = publisher
        self.subscriber = subscriber
        self.logger = logger
    }

    /// Called by the store after each commit.
    public func mailboxChanged(grant: GrantID, folderID: String?, modseq: Int64) async {
        await publish(grant, Self.payload(folderID: folderID, modseq: modseq))
    }

    /// Called by the store after a commit that changed several folders: one announcement for all.
    public func mailboxesChanged(grant: GrantID, folderIDs: [String], modseq: Int64) async {
        await publish(grant, Self.payload(folderIDs: folderIDs, modseq: modseq))
    }

    /// `<folder id or *> <modseq>`: folder ids have no spaces.
    static func payload(folderID: String?, modseq: Int64) -> String { "\(folderID ?? "*") \(modseq)" }

    /// `* <modseq> <folder id>,<folder id>…`: folder ids have no commas either (system names and
    /// hex). A node that predates the folder list reads it as a grant-wide change of unknown
    /// modseq, so its sessions read what changed, as they must: the form is safe while a region
    /// runs two versions.
    static func payload(folderIDs: [String], modseq: Int64) -> String { "* \(modseq) \(folderIDs.joined(separator: ","))" }

    /// The events one payload carries: one per folder named.
    static func parse(_ payload: String) -> [Event] {
        if payload == credentialsPrefix { return [.credentialsChanged] }
        let parts = payload.split(separator: " ", maxSplits: 2)
        let folder = parts.first.map(String.init) ?? "*"
        let modseq = parts.count > 1 ? Int64(parts[1]) : nil
        guard folder == "*" else { return [.mailboxChanged(folderID: folder, modseq: parts.count == 2 ? modseq : nil)] }
        guard parts.count == 3 else { return [.mailboxChanged(folderID: nil, modseq: modseq)] }
        let folders = parts[2].split(separator: ",")
        guard !folders.isEmpty else { return [.mailboxChanged(folderID: nil, modseq: modseq)] }
        return folders.map { .mailboxChanged(folderID: String($0), modseq: modseq) }
    }

    /// Called by the store after a commit that queued outbound mail.
    public func outboundQueued() async {
        do {
            _ = try await publisher.send(["PUBLISH", Self.outboundChannel, "*"])
        } catch {
            logger.warning("could not announce queued mail", metadata: ["error": "\(error)"])
        }
    }

    /// Every session of the grant, on every node, ends at its next command (IDLE at once). This
    /// node's own sessions hear it before the call returns, so that a command a client sends after
    /// the API answered is already refused here; the other nodes hear it through Redis (and this
    /// one again, which changes nothing).
    public func credentialsChanged(grant: GrantID) async {
        let targets = listeners.withLockedValue { Array(($0[grant] ?? [:]).values) }
        for target in targets { target(.credentialsChanged) }
        await publish(grant, Self.credentialsPrefix)
    }

    private func publish(_ grant: GrantID, _ payload: String) async {
        do {
            _ = try await publisher.send(["PUBLISH", Self.channel(grant), payload])
        } catch {
            // Sessions still catch up at their next command; IDLE falls back to polling.
            logger.warning("could not announce a mailbox change", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
        }
    }

    /// Registers a listener; keep the returned token to remove it.
    public func listen(grant: GrantID, _ listener: @escaping @Sendable (Event) -> Void) -> Int {
        let token = nextToken.withLockedValue { value in
            value += 1
            return value
        }
        listeners.withLockedValue { $0[grant, default: [:]][token] = listener }
        return token
    }

    /// Hears that some grant's mailbox changed (the webhook dispatcher's wake-up); for the node's lifetime.
    public func listenToEveryGrant(_ listener: @escaping @Sendable () -> Void) {
        everyGrantListeners.withLockedValue { $0.append(listener) }
    }

    /// Hears that a submission queued outbound mail in the region (the delivery workers' wake-up).
    public func listenToOutbound(_ listener: @escaping @Sendable () -> Void) {
        outboundListeners.withLockedValue { $0.append(listener) }
    }

    public func stopListening(grant: GrantID, token: Int) {
        listeners.withLockedValue { all in
            all[grant]?[token] = nil
            if all[grant]?.isEmpty == true { all[grant] = nil }
        }
    }

    /// Returns once Redis first confirmed the bus's subscription: from then on, every announcement
    /// of any node reaches this node's listeners.
    public func subscribed() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let confirmed = firstSubscription.withLockedValue { state in
                if !state.confirmed { state.waiters.append(waiter) }
                return state.confirmed
            }
            if confirmed { waiter.resume() }
        }
    }

    /// Asks for the pattern until Redis confirms it once, then lets `subscribed()` return. The
    /// subscriber restores it by itself after later reconnects.
    private func subscribeUntilConfirmed() async {
        var delay = Duration.milliseconds(50)
        var warned = false
        while !Task.isCancelled {
            do {
                try await subscriber.psubscribe(["mailbox:*"])
                let waiters = firstSubscription.withLockedValue { state in
                    state.confirmed = true
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
                if warned { logger.info("mailbox events subscribed") }
                return
            } catch {
                if !warned {
                    logger.warning("mailbox events not subscribed yet; retrying", metadata: ["error": "\(error)"])
                    warned = true
                }
                guard (try? await Task.sleep(for: delay)) != nil else { return }
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.subscriber.run() }
            group.addTask {
                for await message in self.subscriber.messages {
                    if message.channel == Self.outboundChannel {
                        for listener in self.outboundListeners.withLockedValue({ $0 }) { listener() }
                        continue
                    }
                    guard let grantText = message.channel.split(separator: ":", maxSplits: 1).last,
                          let grant = GrantID(rawValue: String(grantText)) else { continue }
                    let events = Self.parse(message.payloadString ?? "*")
                    let targets = self.listeners.withLockedValue { Array(($0[grant] ?? [:]).values) }
                    for event in events {
                        for target in targets { target(event) }
                    }
                    if events.contains(where: { if case .mailboxChanged = $0 { true } else { false } }) {
                        for listener in self.everyGrantListeners.withLockedValue({ $0 }) { listener() }
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    let answered = (try? await self.publisher.send(["PING"])) != nil
                    let subscribed = self.subscriber.subscriptions.patterns.contains("mailbox:*")
                    self.healthy.withLockedValue { $0 = answered && subscribed }
                    try? await Task.sleep(for: Self.healthCheckInterval)
                }
            }
            group.addTask { await self.subscribeUntilConfirmed() }
            try? await gracefulShutdown()
            await subscriber.close()
            group.cancelAll()
        }
    }
}
