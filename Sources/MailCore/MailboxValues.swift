/// A message's flags and keywords (RFC 9051 2.3.2): system flags spelled canonically, keywords as
/// given, without duplicates, sorted by bytes so that two equal sets compare equal everywhere (the
/// Postgres store sorts with `COLLATE "C"`, the same order). `\Recent` is never stored.
public struct MessageFlags: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public static let seen = "\\Seen"
    public static let answered = "\\Answered"
    public static let flagged = "\\Flagged"
    public static let deleted = "\\Deleted"
    public static let draft = "\\Draft"
    public static let systemFlags = [answered, deleted, draft, flagged, seen]

    /// Canonical, unique, sorted by UTF-8 bytes.
    public let names: [String]

    public init(_ names: some Sequence<String>) {
        var kept: [String] = []
        for name in names {
            guard let first = name.utf8.first else { continue }
            if first == UInt8(ascii: "\\") {
                // Other backslash names (\Recent, unknown) are not storable flags.
                if let system = Self.canonicalSystemFlag(name) { kept.append(system) }
            } else {
                kept.append(name)
            }
        }
        if kept.count > 1 {
            // A keyword is one flag in any letter case (as in `KeywordCaseSchema`): its first spelling
            // stays. Only two keywords or more can clash; system flags are canonical already.
            if kept.lazy.filter({ $0.utf8.first != UInt8(ascii: "\\") }).count > 1 {
                if kept.count <= 16 {
                    var unique: [String] = []
                    unique.reserveCapacity(kept.count)
                    // A message has a handful of flags: comparing each pair allocates nothing.
                    for name in kept where !unique.contains(where: { Self.sameName($0, name) }) { unique.append(name) }
                    kept = unique
                } else {
                    var seen = Set<String>()
                    kept = kept.filter { seen.insert(Self.foldedName($0)).inserted }
                }
            }
            kept.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            var unique = [kept[0]]
            // Bytes, as the sort and Postgres (`COLLATE "C"`) compare them, not Unicode equivalence.
            for name in kept.dropFirst() where !name.utf8.elementsEqual(unique[unique.count - 1].utf8) { unique.append(name) }
            kept = unique
        }
        self.names = kept
    }

    /// The canonical spelling of a system flag named in any case, compared byte by byte: flags are
    /// read for every message a SELECT or FETCH shows, and lowercasing allocated twice per name.
    private static func canonicalSystemFlag(_ name: String) -> String? {
        systemFlags.first { flag in
            flag.utf8.count == name.utf8.count
                && zip(flag.utf8, name.utf8).allSatisfy { a, b in a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7A) }
        }
    }

    public init(arrayLiteral elements: String...) { self.init(elements) }

    public static let empty = MessageFlags([String]())

    public func contains(_ flag: String) -> Bool { names.contains(MessageFlags([flag]).names.first ?? flag) }
    public var isSeen: Bool { names.contains(MessageFlags.seen) }
    public var isFlagged: Bool { names.contains(MessageFlags.flagged) }
    public var isDeleted: Bool { names.contains(MessageFlags.deleted) }
    public var isEmpty: Bool { names.isEmpty }

    public func union(_ other: MessageFlags) -> MessageFlags { MessageFlags(names + other.names) }
    /// Removes every spelling of the names in `other` (a keyword is one flag in any letter case).
    public func subtracting(_ other: MessageFlags) -> MessageFlags {
        guard other.names.count > 16 else { return MessageFlags(names.filter { name in !other.names.contains { Self.sameName($0, name) } }) }
        let removed = Set(other.names.map(Self.foldedName))
        return MessageFlags(names.filter { !removed.contains(Self.foldedName($0)) })
    }

    /// Whether two flag names are one flag: equal bytes once ASCII letters are folded (IMAP's
    /// case-insensitivity is ASCII's; Postgres folds the same way under `COLLATE "C"`).
    public static func sameName(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { x, y in foldASCII(x) == foldASCII(y) }
    }

    /// A name with its ASCII letters lowercased, for keys that must agree with `sameName`.
    public static func foldedName(_ name: String) -> String {
        String(decoding: name.utf8.map(foldASCII), as: UTF8.self)
    }

    private static func foldASCII(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    public var description: String { "(" + names.joined(separator: " ") + ")" }
}

/// How a STORE (or an API update) changes flags.
public enum FlagOperation: Hashable, Sendable {
    case add(MessageFlags)
    case remove(MessageFlags)
    case replace(MessageFlags)
}

/// A set of UIDs as sorted, merged ranges (what `1:5,9,20:*` becomes once the session has
/// resolved `*`). UIDs are 32-bit (RFC 9051 2.3.1.1); the store keeps them as Int64.
public struct UIDSet: Hashable, Sendable, CustomStringConvertible {
    public static let maximumUID: Int64 = 4_294_967_295

    public let ranges: [ClosedRange<Int64>]

    public init(_ ranges: [ClosedRange<Int64>]) {
        var merged: [ClosedRange<Int64>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    public init(_ range: ClosedRange<Int64>) { self.init([range]) }
    public init(uids: some Sequence<Int64>) { self.init(uids.map { $0...$0 }) }

    /// Every UID (`1:*`).
    public static let all = UIDSet(1...maximumUID)

    public func contains(_ uid: Int64) -> Bool { ranges.contains { $0.contains(uid) } }
    public var isEmpty: Bool { ranges.isEmpty }
    public var lowerBounds: [Int64] { ranges.map(\.lowerBound) }
    public var upperBounds: [Int64] { ranges.map(\.upperBound) }

    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound):\($0.upperBound)" }
            .joined(separator: ",")
    }
}

/// A folder of a grant with its IMAP state and counts (what LIST-STATUS, SELECT and the API's
/// folder object show).
public struct MailFolder: Hashable, Sendable {
    /// The API id (`inbox`, ... for system folders; generated for custom ones). Never changes.
    public var id: String
    /// The IMAP name, hierarchy delimiter `/`.
    public var name: String
    /// The id of the folder whose name is this one's up to the last `/`, if that folder exists.
    public var parentID: String?
    public var systemFolder: SystemFolder?
    public var uidValidity: Int64
    public var uidNext: Int64
    public var highestModseq: Int64
    public var totalCount: Int
    public var unseenCount: Int
    /// Messages flagged `\Deleted` (IMAP STATUS DELETED, RFC 9051 6.3.11).
    public var deletedCount: Int
    /// The RFC822.SIZE of every message added up (IMAP STATUS SIZE, RFC 8438).
    public var sizeBytes: Int64
    /// IMAP `\Recent` (RFC 3501 2.3.2): messages from this UID on have not yet been seen by any
    /// session; a session that selects the folder read-write, or is told of new mail, claims them.
    public var firstRecentUID: Int64
    public var createdAt: Int64
    /// The RFC 6154 attribute (`\Sent`, ...): a system folder's own, or one a custom folder was
    /// created with (IMAP CREATE-SPECIAL-USE); nil for other custom folders.
    public var specialUse: String?

    public init(id: String, name: String, parentID: String?, systemFolder: SystemFolder?, uidValidity: Int64, uidNext: Int64,
                highestModseq: Int64, totalCount: Int, unseenCount: Int, deletedCount: Int = 0, sizeBytes: Int64 = 0,
                firstRecentUID: Int64 = 1, createdAt: Int64, specialUse: String? = nil) {
        self.specialUse = specialUse ?? systemFolder?.specialUse
        self.id = id
        self.name = name
        self.parentID = parentID
        self.systemFolder = systemFolder
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.highestModseq = highestModseq
        self.firstRecentUID = firstRecentUID
        self.totalCount = totalCount
        self.unseenCount = unseenCount
        self.deletedCount = deletedCount
        self.sizeBytes = sizeBytes
        self.createdAt = createdAt
    }

    /// The IMAP hierarchy delimiter of every folder.
    public static let hierarchyDelimiter: Character = "/"
}

/// The result of an APPEND.
public struct AppendResult: Hashable, Sendable {
    /// The API id of the message (the existing one when deduplicated).
    public var messageID: String
    public var uid: Int64
    public var uidValidity: Int64
    /// The modseq the message got (its current one when deduplicated).
    public var modseq: Int64
    public var threadID: String
    /// True when a message with the same Message-ID was already in the folder and nothing was stored.
    public var deduplicated: Bool
    /// The append claimed `\Recent` for every message it stored (asked for with `claimingRecent`).
    public var claimedRecent: Bool
    /// The time the store wrote as the message's creation and save date, when it stored one and
    /// says so (nil for a duplicate): with it a node can keep what it just stored in its content
    /// cache exactly as a read would return it.
    public var storedAt: Int64?

    public init(messageID: String, uid: Int64, uidValidity: Int64, modseq: Int64, threadID: String, deduplicated: Bool,
                claimedRecent: Bool = false, storedAt: Int64? = nil) {
        self.messageID = messageID
        self.uid = uid
        self.uidValidity = uidValidity
        self.modseq = modseq
        self.threadID = threadID
        self.deduplicated = deduplicated
        self.claimedRecent = claimedRecent
        self.storedAt = storedAt
    }
}

/// A message's state as a change or a STORE reports it: its UID, id, flags and modseq.
public struct MessageState: Hashable, Sendable {
    public var uid: Int64
    public var messageID: String
    public var flags: MessageFlags
    public var modseq: Int64

    public init(uid: Int64, messageID: String, flags: MessageFlags, modseq: Int64) {
        self.uid = uid
        self.messageID = messageID
        self.flags = flags
        self.modseq = modseq
    }
}

/// A folder as SELECT sees it, read in one snapshot: every message of it in UID order.
public struct MailboxSnapshot: Hashable, Sendable {
    /// What a session keeps of a message it has not fetched: no id, which a folder of 100,000
    /// messages would read and allocate 100,000 times for nothing.
    public struct Message: Hashable, Sendable {
        public var uid: Int64
        public var flags: MessageFlags
        public var modseq: Int64

        public init(uid: Int64, flags: MessageFlags, modseq: Int64) {
            self.uid = uid
            self.flags = flags
            self.modseq = modseq
        }
    }

    public var folder: MailFolder
    public var messages: [Message]

    public init(folder: MailFolder, messages: [Message]) {
        self.folder = folder
        self.messages = messages
    }
}

/// What changed in a folder after a modseq: the answer to IDLE, CONDSTORE `CHANGEDSINCE`,
/// QRESYNC and the API's polling, all of them.
public struct FolderChanges: Hashable, Sendable {
    public var uidValidity: Int64
    public var uidNext: Int64
    public var highestModseq: Int64
    /// Messages that arrived in the folder after the modseq (APPEND, COPY, MOVE, delivery), UID order.
    public var added: [MessageState]
    /// Messages that were there before and whose flags changed after the modseq, UID order.
    public var changed: [MessageState]
    /// UIDs removed from the folder after the modseq (expunged, moved out, deleted), ascending.
    public var expunged: [Int64]
    /// When the read claimed recent messages: the first UID claimed (the claim runs from there to
    /// `uidNext - 1`); nil when it claimed nothing.
    public var firstClaimedRecent: Int64?
    /// Expunges are remembered for a while, not for ever: those with a modseq at or below this one
    /// may have been forgotten. `expunged` is complete only when the modseq asked about is at or
    /// above it.
    public var vanishedHorizon: Int64
    /// The folder's name when the changes were read (nil where the reader did not say).
    public var folderName: String?

    public init(uidValidity: Int64, uidNext: Int64, highestModseq: Int64, added: [MessageState], changed: [MessageState], expunged: [Int64],
                firstClaimedRecent: Int64? = nil, vanishedHorizon: Int64 = 0, folderName: String? = nil) {
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.highestModseq = highestModseq
        self.added = added
        self.changed = changed
        self.expunged = expunged
        self.firstClaimedRecent = firstClaimedRecent
        self.vanishedHorizon = vanishedHorizon
        self.folderName = folderName
    }

    public var isEmpty: Bool { added.isEmpty && changed.isEmpty && expunged.isEmpty }
}

/// The result of a STORE.
public struct FlagStoreResult: Hashable, Sendable {
    /// Messages whose flags changed, with their new flags and modseq, UID order.
    public var changed: [MessageState]
    /// UIDs left alone because their modseq was above `unchangedSince` (RFC 7162 3.1.3 `MODIFIED`).
    public var failedCondition: [Int64]

    public init(changed: [MessageState], failedCondition: [Int64]) {
        self.changed = changed
        self.failedCondition = failedCondition
    }
}

/// Source UID to destination UID, as COPYUID/MOVE report them (RFC 4315).
public struct UIDMapping: Hashable, Sendable {
    public var destinationUIDValidity: Int64
    /// Pairs in ascending source UID order.
    public var pairs: [(source: Int64, destination: Int64)]

    public init(destinationUIDValidity: Int64, pairs: [(source: Int64, destination: Int64)]) {
        self.destinationUIDValidity = destinationUIDValidity
        self.pairs = pairs
    }

    public var sourceUIDs: [Int64] { pairs.map(\.source) }
    public var destinationUIDs: [Int64] { pairs.map(\.destination) }

    public static func == (lhs: UIDMapping, rhs: UIDMapping) -> Bool {
        lhs.destinationUIDValidity == rhs.destinationUIDValidity && lhs.sourceUIDs == rhs.sourceUIDs
            && lhs.destinationUIDs == rhs.destinationUIDs
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(destinationUIDValidity)
        hasher.combine(sourceUIDs)
        hasher.combine(destinationUIDs)
    }
}

/// The result of an EXPUNGE.
public struct ExpungeResult: Hashable, Sendable {
    /// The UIDs that left the folder, ascending (the session turns them into EXPUNGE/VANISHED).
    public var expunged: [Int64]
    /// Where they went when the folder was not Trash (seed: EXPUNGE moves to Trash); nil when they were deleted for good.
    public var movedToTrash: UIDMapping?
    /// The modseq of the change; nil when nothing was expunged.
    public var modseq: Int64?

    public init(expunged: [Int64], movedToTrash: UIDMapping?, modseq: Int64? = nil) {
        self.expunged = expunged
        self.movedToTrash = movedToTrash
        self.modseq = modseq
    }
}

/// A grant's storage use (IMAP QUOTA's `STORAGE`, counted in bytes here; RFC 9208 reports KiB).
public struct QuotaUsage: Hashable, Sendable {
    public var usedBytes: Int64
    public var limitBytes: Int64
    public var messageCount: Int64

    public init(usedBytes: Int64, limitBytes: Int64, messageCount: Int64) {
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
        self.messageCount = messageCount
    }
}

/// One message as the store keeps it: where it is, its state and its facts; the raw bytes only
/// when they were asked for.
public struct StoredMessage: Hashable, Sendable {
    public var id: String
    public var grantID: GrantID
    public var folderID: String
    public var uid: Int64
    public var threadID: String
    public var flags: MessageFlags
    public var modseq: Int64
    public var internalDate: Int64
    /// RFC822.SIZE: the byte count of the stored message.
    public var size: Int64
    public var facts: MessageFacts
    public var raw: [UInt8]?
    public var createdAt: Int64
    public var updatedAt: Int64
    /// When the message was saved in its folder (RFC 8514 SAVEDATE): stored, copied or moved there.
    public var savedAt: Int64

    public init(id: String, grantID: GrantID, folderID: String, uid: Int64, threadID: String, flags: MessageFlags, modseq: Int64,
                internalDate: Int64, size: Int64, facts: MessageFacts, raw: [UInt8]?, createdAt: Int64, updatedAt: Int64,
                savedAt: Int64? = nil) {
        self.savedAt = savedAt ?? createdAt
        self.id = id
        self.grantID = grantID
        self.folderID = folderID
        self.uid = uid
        self.threadID = threadID
        self.flags = flags
        self.modseq = modseq
        self.internalDate = internalDate
        self.size = size
        self.facts = facts
        self.raw = raw
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The API's `unread`: `\Seen` inverted.
    public var unread: Bool { !flags.isSeen }
    /// The API's `starred`: `\Flagged`.
    public var starred: Bool { flags.isFlagged }
}

/// One page of the API's message list, newest first.
public struct MessagePage: Hashable, Sendable {
    public var messages: [StoredMessage]
    /// Pass back to get the next page; nil on the last one.
    public var nextCursor: String?

    public init(messages: [StoredMessage], nextCursor: String?) {
        self.messages = messages
        self.nextCursor = nextCursor
    }
}

/// The API's message update (`PUT /messages/{id}`): nil leaves a field alone.
public struct MessageUpdate: Hashable, Sendable {
    public var unread: Bool?
    public var starred: Bool?
    /// Moves the message (keeping its id) to this folder.
    public var folderID: String?

    public init(unread: Bool? = nil, starred: Bool? = nil, folderID: String? = nil) {
        self.unread = unread
        self.starred = starred
        self.folderID = folderID
    }
}

/// Stable ids for messages, folders and threads: 32 lower-case hex digits of randomness, valid as
/// an API id and as an RFC 8474 OBJECTID.
public enum ObjectIDGenerator {
    /// A version 4 UUID, the id form of application objects (policies, rules, lists, workspaces).
    public static func uuid() -> String { GrantID.random().rawValue }

    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<32 { bytes.append(digits[Int(UInt8.random(in: 0...15, using: &generator))]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
