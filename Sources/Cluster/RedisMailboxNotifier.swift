import Logging
import MailCore

/// Announces committed mailbox changes on a region's Redis, in the wire format `MailboxEventBus`
/// listens to (`mailbox:<grant id>`, payload the folder ids or `*`, then the modseq). For stores of another region
/// (mail delivered from here into a grant homed there), whose sessions listen on that region's Redis.
public struct RedisMailboxNotifier: MailboxChangeNotifier {
    let redis: RedisClient
    let logger: Logger

    public init(redis: RedisClient, logger: Logger) {
        self.redis = redis
        self.logger = logger
    }

    public func mailboxChanged(grant: GrantID, folderID: String?, modseq: Int64) async {
        do {
            _ = try await redis.send(["PUBLISH", MailboxEventBus.channel(grant), MailboxEventBus.payload(folderID: folderID, modseq: modseq)])
        } catch {
            logger.warning("could not announce a mailbox change", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
        }
    }

    public func mailboxesChanged(grant: GrantID, folderIDs: [String], modseq: Int64) async {
        do {
            _ = try await redis.send(["PUBLISH", MailboxEventBus.channel(grant), MailboxEventBus.payload(folderIDs: folderIDs, modseq: modseq)])
        } catch {
            logger.warning("could not announce a mailbox change", metadata: ["grant_id": "\(grant)", "error": "\(error)"])
        }
    }

    public func outboundQueued() async {
        do {
            _ = try await redis.send(["PUBLISH", MailboxEventBus.outboundChannel, "*"])
        } catch {
            logger.warning("could not announce queued mail", metadata: ["error": "\(error)"])
        }
    }
}
