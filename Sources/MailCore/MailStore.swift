/// The mailboxes of one region, as IMAP, SMTP and the REST API see them: folders, messages, flags,
/// UIDs, modseqs, quota. Postgres implements it for the cluster; an embedded backend (SQLite) can
/// implement it later. `StorageTests.MailStoreBehaviour` is the suite every backend must pass.
///
/// Every mutating call is one transaction: the change, its modseq, its quota effect and its webhook
/// event rows commit together, and only then is the change announced through the
/// `MailboxChangeNotifier` the store was given.
///
/// Folder ids are the API's (`inbox`, `sent`, ... or a generated id); folder names are IMAP's
/// (`INBOX`, `Work/Projects`).
public protocol MailStore: Sendable {
    /// Whether the store's last call that ended found its database unreachable (down, out of time):
    /// a caller that may skip a read asks before it does, to refuse as early as that read would.
    var lastCallFoundStoreUnreachable: Bool { get }

    // MARK: Folders

    /// Every folder of the grant with its counts, system folders first (in the seed's order), then by name.
    func folders(grant: GrantID) async throws -> [MailFolder]
    func folder(grant: GrantID, id: String) async throws -> MailFolder?
    /// `INBOX` matches in any case (RFC 9051 5.1); other names exactly.
    func folder(grant: GrantID, name: String) async throws -> MailFolder?
    /// The folder of `name` (as `folder(grant:name:)` finds it) and the grant's quota, read
    /// together: an APPEND checks both before the client sends the message.
    func appendTarget(grant: GrantID, name: String) async throws -> (MailFolder, QuotaUsage)?
    /// Creates a custom folder (and any missing parents, RFC 9051 6.3.4), marked with `specialUse`
    /// (an RFC 6154 attribute) when given. Throws `folderExists`, `invalidFolderName`.
    func createFolder(grant: GrantID, name: String, specialUse: String?) async throws -> MailFolder
    /// Renames a custom folder and its children. Throws `cannotModifySystemFolder`, `folderExists`, `noSuchFolder`.
    func renameFolder(grant: GrantID, id: String, to newName: String) async throws -> MailFolder
    /// Deletes a custom folder and the messages in it (quota released). Throws `cannotModifySystemFolder`, `noSuchFolder`.
    func deleteFolder(grant: GrantID, id: String) async throws

    // MARK: Subscriptions (RFC 3501 6.3.6, 6.3.7)

    /// The grant's subscribed names (decoded, as folder names are), in no particular order. A name
    /// stays subscribed when its folder is renamed or deleted.
    func subscriptions(grant: GrantID) async throws -> [String]
    /// Adds names to the grant's subscriptions; names already there are left as they are.
    func subscribe(grant: GrantID, names: [String]) async throws
    /// Removes names from the grant's subscriptions; returns those that were there.
    @discardableResult
    func unsubscribe(grant: GrantID, names: [String]) async throws -> [String]

    // MARK: \Recent (RFC 3501 2.3.2)

    /// Claims the folder's recent messages up to `uid` for the calling session: returns the first UID
    /// of what it claimed (the claim runs from there through `uid`), or nil when another session
    /// claimed them first. Each UID is claimed once, by one session, on whichever node.
    func claimRecent(grant: GrantID, folderID: String, through uid: Int64) async throws -> Int64?
    /// How many of the folder's messages with a UID above `uid` no session has claimed yet (STATUS RECENT).
    func recentCount(grant: GrantID, folderID: String, above uid: Int64) async throws -> Int

    // MARK: IMAP

    /// The METADATA entries (RFC 5464) of folder `folderID`, or of the grant itself when nil, whose
    /// names equal one of `names` or, with `descendants`, lie below one (`/shared` holds
    /// `/shared/comment`), by name.
    func annotations(grant: GrantID, folderID: String?, under names: [String], descendants: Bool) async throws -> [MailboxAnnotation]
    /// Sets and removes (nil value) entries together, unless the grant would then hold more than
    /// `limit` entries in all: then nothing changes and the answer is false. Throws `noSuchFolder`.
    func setAnnotations(grant: GrantID, folderID: String?, _ annotations: [MailboxAnnotation], limit: Int) async throws -> Bool
    /// Stores a message in a folder. When the folder already holds a message with the same
    /// Message-ID header, stores nothing and returns that message (`deduplicated`).
    /// Throws `overQuota`, `noSuchFolder`.
    func append(grant: GrantID, folderID: String, raw: [UInt8], facts: MessageFacts, flags: MessageFlags,
                internalDate: Int64) async throws -> AppendResult
    /// Stores several messages in one transaction: all of them or none (RFC 3502 MULTIAPPEND).
    /// Each is deduplicated as `append` does, against the folder and the messages before it.
    /// With `claimingRecent`, the same write claims `\Recent` for the messages it stores when no
    /// earlier message of the folder is unclaimed (`AppendResult.claimedRecent` says whether it did).
    func append(grant: GrantID, folderID: String, messages: [NewMessage], claimingRecent: Bool) async throws -> [AppendResult]
    /// The folder's state and every message's UID, flags and modseq, in UID order, read in one snapshot.
    func snapshot(grant: GrantID, folderID: String) async throws -> MailboxSnapshot
    /// The same for the folder of `name` (as `folder(grant:name:)` finds it); nil when there is none.
    func snapshot(grant: GrantID, name: String) async throws -> MailboxSnapshot?
    /// The messages of `uids` in the folder, UID order; raw bytes only when `includeRaw`.
    func fetch(grant: GrantID, folderID: String, uids: UIDSet, includeRaw: Bool) async throws -> [StoredMessage]
    /// Changes the flags of the messages of `uids`. With `unchangedSince`, a message whose modseq is
    /// above it is left alone and reported in `failedCondition` (RFC 7162 3.1.3).
    func storeFlags(grant: GrantID, folderID: String, uids: UIDSet, operation: FlagOperation,
                    unchangedSince: Int64?) async throws -> FlagStoreResult
    /// Copies messages: new message ids and UIDs, shared bytes. Throws `overQuota`, `noSuchFolder`.
    func copy(grant: GrantID, from folderID: String, uids: UIDSet, to destinationID: String) async throws -> UIDMapping
    /// Moves messages, keeping their ids: new UIDs in the destination, expunges in the source.
    func move(grant: GrantID, from folderID: String, uids: UIDSet, to destinationID: String) async throws -> UIDMapping
    /// Expunges the `\Deleted` messages (of `uids` when given, RFC 4315 UID EXPUNGE). Seed semantics:
    /// outside Trash they move to Trash with `\Deleted` cleared; in Trash they are deleted for good.
    func expunge(grant: GrantID, folderID: String, uids: UIDSet?) async throws -> ExpungeResult
    /// What changed in the folder after `modseq`. With `claimingRecent`, the same statement claims
    /// for the calling session, as `claimRecent` would, every recent message up to the last it
    /// reports (`FolderChanges.firstClaimedRecent`): a session that learns of new mail takes its
    /// `\Recent` flags in the one round trip that tells it of the mail.
    func changes(grant: GrantID, folderID: String, since modseq: Int64, claimingRecent: Bool) async throws -> FolderChanges
    func quota(grant: GrantID) async throws -> QuotaUsage
    /// Sets the grant's own limit; nil returns it to the store's default.
    func setQuotaLimit(grant: GrantID, bytes: Int64?) async throws
    /// What the grant received and sent on `day` (`UTCDay.number`).
    func dailyCounts(grant: GrantID, day: Int64) async throws -> DailyCounts
    /// Counts one message of `direction` on `day`, unless the day already holds `limit`: false
    /// then, and nothing counted. Concurrent counts never pass the limit together.
    func countDaily(_ direction: DailyCounts.Direction, grant: GrantID, day: Int64, limit: Int64) async throws -> Bool
    /// Takes back a count whose message was not stored after all.
    func uncountDaily(_ direction: DailyCounts.Direction, grant: GrantID, day: Int64) async throws

    // MARK: API

    func message(grant: GrantID, id: String, includeRaw: Bool) async throws -> StoredMessage?
    /// The messages of `ids` that exist, in the order of `ids`, read with one query.
    func messages(grant: GrantID, ids: [String], includeRaw: Bool) async throws -> [StoredMessage]
    /// Newest first (internal date, then id); `folderID` nil lists every folder.
    func listMessages(grant: GrantID, folderID: String?, cursor: String?, limit: Int) async throws -> MessagePage
    /// Sets unread/starred and moves, in one change. Throws `noSuchMessage`, `noSuchFolder`.
    func updateMessage(grant: GrantID, id: String, _ update: MessageUpdate) async throws -> StoredMessage
    /// The API's DELETE: moves the message to Trash, or deletes it for good when it is in Trash.
    func deleteMessage(grant: GrantID, id: String) async throws
    /// Deletes a message for good wherever it is (a discarded draft), with `message.deleted`.
    /// Throws `noSuchMessage`.
    func destroyMessage(grant: GrantID, id: String) async throws
    /// Replaces a message's bytes in place (a draft being edited): the same API id, a new UID in its
    /// folder (IMAP sees the old one expunged), `message.updated`. Throws `noSuchMessage`, `overQuota`.
    func replaceMessage(grant: GrantID, id: String, raw: [UInt8], facts: MessageFacts, internalDate: Int64) async throws -> StoredMessage

    // MARK: Threads

    /// Threads with their messages (oldest first), newest activity first; with `folderID`, only
    /// threads with a message in that folder.
    func listThreads(grant: GrantID, folderID: String?, cursor: String?, limit: Int) async throws -> ThreadPage
    /// The thread's messages, oldest first; empty when there is no such thread.
    func threadMessages(grant: GrantID, threadID: String) async throws -> [StoredMessage]

    // MARK: Sending

    /// Saves a submitted message to Sent (`\Seen`) and queues one outbound job per recipient domain,
    /// in one transaction; with `replacingDraftID` that draft is deleted in the same transaction.
    /// Throws `overQuota`, `noSuchMessage` (the draft).
    func submit(grant: GrantID, _ submission: Submission) async throws -> AppendResult
}

/// A message to store.
public struct NewMessage: Sendable {
    public var raw: [UInt8]
    public var facts: MessageFacts
    public var flags: MessageFlags
    public var internalDate: Int64
    /// Mail the system owes the grant (a bounce) is stored even over quota: refusing it would lose
    /// the only notice that the grant's own message failed.
    public var exemptFromQuota: Bool

    public init(raw: [UInt8], facts: MessageFacts, flags: MessageFlags, internalDate: Int64, exemptFromQuota: Bool = false) {
        self.raw = raw
        self.facts = facts
        self.flags = flags
        self.internalDate = internalDate
        self.exemptFromQuota = exemptFromQuota
    }
}

/// A message handed to the outbound queue, and its copy for Sent.
public struct Submission: Sendable {
    /// What Sent keeps (with Bcc).
    public var sentCopy: [UInt8]
    public var facts: MessageFacts
    /// What goes on the wire (Bcc removed).
    public var transmit: [UInt8]
    /// The envelope sender.
    public var mailFrom: String
    /// The envelope recipients (To, Cc and Bcc).
    public var recipients: [EmailAddress]
    public var internalDate: Int64
    public var replacingDraftID: String?
    /// The grant's credentials version its sender logged in with: the store refuses the
    /// submission (`credentialsChanged`) when the credentials changed since. Nil: not checked.
    public var credentialsVersion: Int64?
    /// The version of the rules the send was checked against: the store refuses the submission
    /// (`rulesChanged`) when the region's rules changed since. Nil: not checked.
    public var rulesVersion: Int64?

    public init(sentCopy: [UInt8], facts: MessageFacts, transmit: [UInt8], mailFrom: String, recipients: [EmailAddress],
                internalDate: Int64, replacingDraftID: String? = nil) {
        self.sentCopy = sentCopy
        self.facts = facts
        self.transmit = transmit
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.internalDate = internalDate
        self.replacingDraftID = replacingDraftID
    }
}

/// One page of threads.
public struct ThreadPage: Sendable {
    /// Each thread's messages, oldest first.
    public var threads: [[StoredMessage]]
    public var nextCursor: String?

    public init(threads: [[StoredMessage]], nextCursor: String?) {
        self.threads = threads
        self.nextCursor = nextCursor
    }
}

/// Why a mail store call failed, in terms each surface can translate (IMAP `NO [OVERQUOTA]`,
/// `NO [ALREADYEXISTS]`, `NO [NONEXISTENT]`; API 404/409/413).
public enum MailStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case noSuchGrant
    case noSuchFolder
    case folderExists
    case invalidFolderName(String)
    case cannotModifySystemFolder
    case overQuota(limit: Int64)
    case noSuchMessage
    case invalidCursor
    /// A submission's sender logged in with credentials that have changed since.
    case credentialsChanged
    /// A submission was checked against rules that have changed since: check it again.
    case rulesChanged

    public var description: String {
        switch self {
        case .noSuchGrant: "no such grant"
        case .noSuchFolder: "no such folder"
        case .folderExists: "a folder with that name already exists"
        case .invalidFolderName(let reason): "invalid folder name: \(reason)"
        case .cannotModifySystemFolder: "system folders cannot be renamed or deleted"
        case .overQuota(let limit): "storage quota of \(limit) bytes exceeded"
        case .noSuchMessage: "no such message"
        case .invalidCursor: "invalid page cursor"
        case .credentialsChanged: "the credentials changed; log in again"
        case .rulesChanged: "the rules changed while the message was checked"
        }
    }
}

/// Told after a mailbox change has committed, so that IDLE sessions on every node hear of it (the
/// Redis layer publishes on the grant's channel). `folderID` nil means "something grant-wide"
/// (a folder was created, renamed or deleted). Must not throw or block: a lost announcement only
/// delays sessions until they read `changes(since:)` themselves.
public protocol MailboxChangeNotifier: Sendable {
    func mailboxChanged(grant: GrantID, folderID: String?, modseq: Int64) async
    /// One commit that changed several folders (a move, an expunge into Trash): told once.
    func mailboxesChanged(grant: GrantID, folderIDs: [String], modseq: Int64) async
    /// Told after a commit that queued outbound mail, so that delivery workers start at once.
    func outboundQueued() async
}

extension MailboxChangeNotifier {
    public func mailboxesChanged(grant: GrantID, folderIDs: [String], modseq: Int64) async {
        for folderID in folderIDs { await mailboxChanged(grant: grant, folderID: folderID, modseq: modseq) }
    }

    public func outboundQueued() async {}
}

/// The default: announces nothing (a single process that polls, and tests).
public struct NoMailboxChangeNotifier: MailboxChangeNotifier {
    public init() {}
    public func mailboxChanged(grant: GrantID, folderID: String?, modseq: Int64) async {}
}

/// Folder name rules shared by every backend.
public enum FolderName {
    public static let maximumLength = 255
    public static let inbox = "INBOX"

    /// Checks and canonicalizes an IMAP folder name: `INBOX` in any case becomes `INBOX` (also as
    /// the first level of a hierarchy); empty levels, leading/trailing `/` and control characters are refused.
    public static func validate(_ name: String) throws(MailStoreError) -> String {
        guard !name.isEmpty else { throw .invalidFolderName("empty") }
        guard name.utf8.count <= maximumLength else { throw .invalidFolderName("longer than \(maximumLength) bytes") }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalidFolderName("control characters")
        }
        var levels = name.split(separator: MailFolder.hierarchyDelimiter, omittingEmptySubsequences: false).map(String.init)
        guard !levels.contains(where: { $0.isEmpty }) else { throw .invalidFolderName("empty hierarchy level") }
        guard !levels.contains(where: { $0 == "*" || $0 == "%" || $0.contains("*") || $0.contains("%") }) else {
            throw .invalidFolderName("wildcards")
        }
        if levels[0].uppercased() == inbox { levels[0] = inbox }
        return levels.joined(separator: String(MailFolder.hierarchyDelimiter))
    }

    /// `a/b/c` → [`a`, `a/b`]: the names above this one.
    public static func ancestors(of name: String) -> [String] {
        let levels = name.split(separator: MailFolder.hierarchyDelimiter).map(String.init)
        guard levels.count > 1 else { return [] }
        return (1..<levels.count).map { levels[0..<$0].joined(separator: String(MailFolder.hierarchyDelimiter)) }
    }
}

extension MailStore {
    /// A store that cannot tell says no.
    public var lastCallFoundStoreUnreachable: Bool { false }

    /// How many of the folder's messages no session has claimed yet.
    public func recentCount(grant: GrantID, folderID: String) async throws -> Int {
        try await recentCount(grant: grant, folderID: folderID, above: 0)
    }

    /// What changed in the folder after `modseq`, claiming nothing.
    public func changes(grant: GrantID, folderID: String, since modseq: Int64) async throws -> FolderChanges {
        try await changes(grant: grant, folderID: folderID, since: modseq, claimingRecent: false)
    }

    /// Stores several messages in one transaction, claiming nothing.
    public func append(grant: GrantID, folderID: String, messages: [NewMessage]) async throws -> [AppendResult] {
        try await append(grant: grant, folderID: folderID, messages: messages, claimingRecent: false)
    }
}

extension MailStore {
    /// A custom folder without a special use.
    public func createFolder(grant: GrantID, name: String) async throws -> MailFolder {
        try await createFolder(grant: grant, name: name, specialUse: nil)
    }
}
