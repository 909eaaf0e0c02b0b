import Synchronization

/// What a message is, as opposed to its state: once a UID is given in a folder, the bytes, the
/// facts, the size and the internal date under it never change (a UID is never reused in a folder
/// whose UIDVALIDITY holds), so a node may keep them and answer FETCH ENVELOPE, BODYSTRUCTURE
/// and BODY[] of messages it has read before without asking Postgres, as a server answers them
/// from its index and cache files. Flags and modseq are state: they never come from here.
///
/// Bounded in bytes: two generations, each at most half the capacity. Entries go into the young
/// one; when it fills up, it becomes the old one and the previous old one is dropped. A hit in the
/// old generation moves the entry back into the young one, so what is read keeps living, and the
/// whole cache never holds more than its capacity (an entry in both generations shares its bytes).
public final class MessageContentCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var grant: GrantID
        public var folderID: String
        public var uid: Int64

        public init(grant: GrantID, folderID: String, uid: Int64) {
            self.grant = grant
            self.folderID = folderID
            self.uid = uid
        }
    }

    /// 64 MiB: a few thousand of the messages sessions read most, per node.
    public static let defaultCapacityBytes = 64 * 1024 * 1024

    private struct Generations {
        var young: [Key: StoredMessage] = [:]
        var youngBytes = 0
        var old: [Key: StoredMessage] = [:]
    }

    public let capacityBytes: Int
    private let generations = Mutex(Generations())

    /// A capacity of 0 turns the cache off.
    public init(capacityBytes: Int = MessageContentCache.defaultCapacityBytes) {
        self.capacityBytes = max(0, capacityBytes)
    }

    /// The cached content of these UIDs of the folder; a message whose bytes are wanted counts only
    /// when its bytes were kept. What is missing is for the caller to read and `insert`.
    public func lookUp(grant: GrantID, folderID: String, uids: [Int64], needsRaw: Bool) -> (found: [Int64: StoredMessage], missing: [Int64]) {
        guard capacityBytes > 0 else { return ([:], uids) }
        var found: [Int64: StoredMessage] = [:]
        var missing: [Int64] = []
        generations.withLock { state in
            for uid in uids {
                let key = Key(grant: grant, folderID: folderID, uid: uid)
                if let message = state.young[key], !needsRaw || message.raw != nil {
                    found[uid] = message
                } else if let message = state.old[key], !needsRaw || message.raw != nil {
                    found[uid] = message
                    Self.keep(message, under: key, in: &state, capacity: capacityBytes)
                } else {
                    missing.append(uid)
                }
            }
        }
        return (found, missing)
    }

    /// Keeps what was just read from the store. A message larger than an eighth of the cache is not
    /// kept, so that one large body does not push out everything else.
    public func insert(_ messages: [StoredMessage]) {
        guard capacityBytes > 0 else { return }
        generations.withLock { state in
            for message in messages {
                let key = Key(grant: message.grantID, folderID: message.folderID, uid: message.uid)
                Self.keep(message, under: key, in: &state, capacity: capacityBytes)
            }
        }
    }

    /// Keeps what an APPEND just stored, as a read of it would return it, so that the FETCH a
    /// client sends next (a message it filed, the copies of a MULTIAPPEND) needs no round trip.
    /// Left out: a message the store answered with an existing one (same Message-ID in the
    /// folder), one whose store does not say when it wrote it, one with NUL in its texts (stored
    /// without it), and whatever goes past an eighth of the capacity, so that one large
    /// MULTIAPPEND does not push out what the node's sessions are reading.
    public func keepAppended(_ messages: [NewMessage], as results: [AppendResult], grant: GrantID, folderID: String) {
        guard capacityBytes > 0, messages.count == results.count else { return }
        var stored: [StoredMessage] = []
        var bytes = 0
        for (message, result) in zip(messages, results) where !result.deduplicated {
            guard let storedAt = result.storedAt, !message.facts.holdsNUL else { continue }
            bytes += message.raw.count
            guard bytes <= capacityBytes / 8 else { break }
            stored.append(StoredMessage(
                id: result.messageID, grantID: grant, folderID: folderID, uid: result.uid, threadID: result.threadID,
                flags: message.flags, modseq: result.modseq, internalDate: message.internalDate, size: Int64(message.raw.count),
                facts: message.facts.bounded, raw: message.raw, createdAt: storedAt, updatedAt: storedAt, savedAt: storedAt))
        }
        insert(stored)
    }

    /// Forgets everything (tests, and an operator's cache flush).
    public func removeAll() {
        generations.withLock { $0 = Generations() }
    }

    /// Bytes held by the young generation (what a test can observe without timing).
    public var youngGenerationBytes: Int { generations.withLock { $0.youngBytes } }

    private static func keep(_ message: StoredMessage, under key: Key, in state: inout Generations, capacity: Int) {
        let cost = Self.cost(of: message)
        guard cost <= capacity / 8 else { return }
        if let previous = state.young[key] {
            // A copy with its bytes replaces one without; otherwise the first one stays.
            guard previous.raw == nil, message.raw != nil else { return }
            state.youngBytes -= Self.cost(of: previous)
        }
        if state.youngBytes + cost > capacity / 2 {
            state.old = state.young
            state.young = [:]
            state.youngBytes = 0
        }
        state.young[key] = message
        state.youngBytes += cost
    }

    /// An estimate of the memory an entry holds: the bytes, the wire texts, and a fixed part for
    /// the rest of the facts.
    static func cost(of message: StoredMessage) -> Int {
        let facts = message.facts
        return 512 + (message.raw?.count ?? 0) + facts.envelope.utf8.count + facts.bodyStructure.utf8.count
            + facts.body.utf8.count + facts.snippet.utf8.count + (facts.subject?.utf8.count ?? 0)
    }
}
