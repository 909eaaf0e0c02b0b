import MailCore
import Testing

/// What a backend hands the behaviour suite.
struct MailStoreHarness: Sendable {
    /// The store under test ("node 1").
    var store: any MailStore
    /// A second store on its own connections to the same data ("node 2").
    var otherNode: any MailStore
    /// Creates a grant with its six system folders and returns its id.
    var makeGrant: @Sendable () async throws -> GrantID
    /// The outbox events of a grant, oldest first.
    var events: @Sendable (GrantID) async throws -> [RecordedEvent]
    /// What `store` announced after commits.
    var notifier: RecordingNotifier
    /// The quota `store` gives a grant without its own limit.
    var defaultQuota: Int64
}

struct RecordedEvent: Hashable, Sendable {
    var type: String
    var objectID: String
}

actor RecordingNotifier: MailboxChangeNotifier {
    struct Call: Hashable, Sendable {
        var grant: GrantID
        var folderID: String?
        var modseq: Int64
    }

    private(set) var calls: [Call] = []
    /// How many times the store was told, per grant: once per commit.
    private(set) var announcements: [GrantID: Int] = [:]

    func mailboxChanged(grant: GrantID, folderID: String?, modseq: Int64) async {
        calls.append(Call(grant: grant, folderID: folderID, modseq: modseq))
        announcements[grant, default: 0] += 1
    }

    func mailboxesChanged(grant: GrantID, folderIDs: [String], modseq: Int64) async {
        calls += folderIDs.map { Call(grant: grant, folderID: $0, modseq: modseq) }
        announcements[grant, default: 0] += 1
    }

    func announcements(for grant: GrantID) -> Int { announcements[grant] ?? 0 }

    func calls(for grant: GrantID) -> [Call] { calls.filter { $0.grant == grant } }
}

/// A small RFC 5322 message and the facts a MIME parser would give for it.
struct TestMessage {
    var raw: [UInt8]
    var facts: MessageFacts

    init(messageID: String? = nil, subject: String = "Hello", inReplyTo: [String] = [], references: [String] = [],
         body: String = "Hi there.", date: Int64 = 1_767_225_600) {
        var text = "From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: \(subject)\r\n"
        if let messageID { text += "Message-ID: <\(messageID)>\r\n" }
        if !inReplyTo.isEmpty { text += "In-Reply-To: " + inReplyTo.map { "<\($0)>" }.joined(separator: " ") + "\r\n" }
        if !references.isEmpty { text += "References: " + references.map { "<\($0)>" }.joined(separator: " ") + "\r\n" }
        text += "\r\n\(body)\r\n"
        raw = Array(text.utf8)
        facts = MessageFacts(
            messageIDHeader: messageID.map { "<\($0)>" }, inReplyTo: inReplyTo, references: references, subject: subject,
            from: [Participant(name: "Alice", email: "alice@example.test")], to: [Participant(email: "bob@example.test")],
            sentDate: date, snippet: body, envelope: "(NIL \"\(subject)\" NIL NIL NIL NIL NIL NIL NIL NIL)",
            bodyStructure: "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" \(body.utf8.count + 2) 1 NIL NIL NIL NIL)",
            body: "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" \(body.utf8.count + 2) 1)",
            extraJSON: #"{"attachments": []}"#)
    }
}

let inbox = SystemFolder.inbox.apiID
let trash = SystemFolder.trash.apiID
let sent = SystemFolder.sent.apiID

private func uniqueID(_ tag: String = "m") -> String { "\(tag)-\(ObjectIDGenerator.random())@example.test" }

/// The behaviour every `MailStore` backend must have. Each function is one test; a backend's test
/// file runs them all against its harness.
enum MailStoreBehaviour {
    @discardableResult
    static func append(_ store: any MailStore, _ grant: GrantID, _ folder: String = inbox, _ message: TestMessage = TestMessage(),
                       flags: MessageFlags = .empty, date: Int64 = 1_767_225_600) async throws -> AppendResult {
        try await store.append(grant: grant, folderID: folder, raw: message.raw, facts: message.facts, flags: flags, internalDate: date)
    }

    static func systemFoldersAndTheirState(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let folders = try await h.store.folders(grant: grant)
        #expect(folders.map(\.id) == ["inbox", "sent", "drafts", "trash", "junk", "archive"])
        #expect(folders.map(\.name) == ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"])
        #expect(folders.map(\.specialUse) == ["\\Inbox", "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"])
        #expect(folders.allSatisfy { $0.uidNext == 1 && $0.totalCount == 0 && $0.uidValidity > 0 && $0.parentID == nil })
        #expect(try await h.store.folder(grant: grant, name: "inbox")?.id == "inbox")
        #expect(try await h.store.folder(grant: grant, name: "sent") == nil)
        #expect(try await h.store.folder(grant: grant, id: "nope") == nil)
        #expect(try await h.store.folders(grant: .random()).isEmpty)
    }

    static func appendAssignsAscendingUIDsAndModseqs(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let before = try #require(try await h.store.folder(grant: grant, id: inbox))
        let first = try await append(h.store, grant)
        let second = try await append(h.store, grant, flags: [MessageFlags.seen])
        let third = try await append(h.store, grant, flags: ["\\flagged", "$Important"])
        #expect([first.uid, second.uid, third.uid] == [1, 2, 3])
        #expect(first.modseq > before.highestModseq && second.modseq > first.modseq && third.modseq > second.modseq)
        #expect(Set([first.messageID, second.messageID, third.messageID]).count == 3)
        #expect(first.uidValidity == before.uidValidity && !first.deduplicated)
        let folder = try #require(try await h.store.folder(grant: grant, id: inbox))
        #expect(folder.uidNext == 4 && folder.totalCount == 3 && folder.unseenCount == 2)
        #expect(folder.highestModseq == third.modseq)
        let snapshot = try await h.store.snapshot(grant: grant, folderID: inbox)
        #expect(snapshot.folder == folder)
        #expect(snapshot.messages.map(\.uid) == [1, 2, 3])
        #expect(snapshot.messages.map(\.flags) == [[], ["\\Seen"], ["$Important", "\\Flagged"]])
        #expect(snapshot.messages.map(\.modseq) == [first.modseq, second.modseq, third.modseq])
        await #expect(throws: MailStoreError.noSuchFolder) { try await append(h.store, grant, "nope") }
    }

    static func fetchReturnsFactsAndBytesOnlyWhenAsked(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let message = TestMessage(messageID: uniqueID(), subject: "Re: Facts", body: "Body text")
        let appended = try await append(h.store, grant, inbox, message, date: 1_767_000_000)
        try await append(h.store, grant)
        let plain = try await h.store.fetch(grant: grant, folderID: inbox, uids: UIDSet(uids: [1]), includeRaw: false)
        #expect(plain.count == 1)
        let stored = try #require(plain.first)
        #expect(stored.raw == nil && stored.id == appended.messageID && stored.uid == 1 && stored.size == Int64(message.raw.count))
        #expect(stored.facts == message.facts)
        #expect(stored.facts.normalizedSubject == "facts" && stored.facts.subjectHasReplyPrefix)
        #expect(stored.internalDate == 1_767_000_000 && stored.unread && !stored.starred && stored.folderID == inbox)
        let withRaw = try await h.store.fetch(grant: grant, folderID: inbox, uids: .all, includeRaw: true)
        #expect(withRaw.map(\.uid) == [1, 2])
        #expect(withRaw.first?.raw == message.raw)
        #expect(try await h.store.fetch(grant: grant, folderID: inbox, uids: UIDSet(3...10), includeRaw: false).isEmpty)
        let byID = try await h.store.message(grant: grant, id: appended.messageID, includeRaw: true)
        #expect(byID?.raw == message.raw && byID?.threadID == appended.threadID)
        #expect(try await h.store.message(grant: grant, id: "missing", includeRaw: false) == nil)
    }

    static func appendDeduplicatesOnMessageIDInTheTargetFolder(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let message = TestMessage(messageID: uniqueID("sent"))
        let saved = try await append(h.store, grant, sent, message)
        let again = try await append(h.store, grant, sent, message, flags: [MessageFlags.seen])
        #expect(again.deduplicated && again.uid == saved.uid && again.messageID == saved.messageID)
        #expect(try await h.store.folder(grant: grant, id: sent)?.totalCount == 1)
        #expect(try await h.store.quota(grant: grant) == QuotaUsage(usedBytes: Int64(message.raw.count), limitBytes: h.defaultQuota,
                                                                      messageCount: 1))
        // Another folder is another mailbox: stored there, in the same thread.
        let elsewhere = try await append(h.store, grant, inbox, message)
        #expect(!elsewhere.deduplicated && elsewhere.threadID == saved.threadID)
        // Without a Message-ID nothing is deduplicated.
        try await append(h.store, grant, sent)
        try await append(h.store, grant, sent)
        #expect(try await h.store.folder(grant: grant, id: sent)?.totalCount == 3)
    }

    static func storeFlagsAddsRemovesReplacesAndHonoursUnchangedSince(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        for _ in 0..<3 { try await append(h.store, grant) }
        let added = try await h.store.storeFlags(grant: grant, folderID: inbox, uids: UIDSet(1...2), operation: .add(["\\seen", "Work"]),
                                                 unchangedSince: nil)
        #expect(added.changed.map(\.uid) == [1, 2] && added.failedCondition.isEmpty)
        #expect(added.changed.allSatisfy { $0.flags == ["Work", "\\Seen"] })
        let modseq = try #require(added.changed.first?.modseq)
        #expect(added.changed.allSatisfy { $0.modseq == modseq })
        #expect(try await h.store.folder(grant: grant, id: inbox)?.highestModseq == modseq)
        // Nothing to change: nothing changes, no modseq moves.
        let same = try await h.store.storeFlags(grant: grant, folderID: inbox, uids: UIDSet(1...2), operation: .add(["\\Seen"]),
                                                unchangedSince: nil)
        #expect(same.changed.isEmpty)
        #expect(try await h.store.folder(grant: grant, id: inbox)?.highestModseq == modseq)
        let removed = try await h.store.storeFlags(grant: grant, folderID: inbox, uids: .all, operation: .remove(["Work"]),
                                                   unchangedSince: nil)
        #expect(removed.changed.map(\.uid) == [1, 2] && removed.changed.allSatisfy { $0.flags == ["\\Seen"] && $0.modseq > modseq })
        // The STORE that changed nothing took no modseq: it wrote nothing at all.
        #expect(removed.changed.first?.modseq == modseq + 1)
        await #expect(throws: MailStoreError.noSuchFolder) {
            try await h.store.storeFlags(grant: grant, folderID: "nope", uids: .all, operation: .add(["\\Seen"]), unchangedSince: nil)
        }
        let replaced = try await h.store.storeFlags(grant: grant, folderID: inbox, uids: UIDSet(uids: [1, 3]),
                                                    operation: .replace(["\\Flagged", "\\Recent"]), unchangedSince: nil)
        #expect(replaced.changed.map(\.uid) == [1, 3] && replaced.changed.allSatisfy { $0.flags == ["\\Flagged"] })
        // CONDSTORE: uid 2 was last changed before `removed`, uids 1 and 3 after.
        let removedModseq = try #require(removed.changed.first?.modseq)
        let conditional = try await h.store.storeFlags(grant: grant, folderID: inbox, uids: .all, operation: .add(["\\Answered"]),
                                                       unchangedSince: removedModseq)
        #expect(conditional.changed.map(\.uid) == [2] && conditional.failedCondition == [1, 3])
        let snapshot = try await h.store.snapshot(grant: grant, folderID: inbox)
        #expect(snapshot.messages.map(\.flags) == [["\\Flagged"], ["\\Answered", "\\Seen"], ["\\Flagged"]])
        #expect(snapshot.folder.unseenCount == 2)
    }

    /// A STORE of one UID, a client's usual one (migration 36 serves it by the message's key): it
    /// changes that message alone, keeps the counters and the modseq as a STORE of many does, and
    /// tells "nothing to change" from "no such folder" or "no such grant".
    static func aStoreOfOneMessageChangesItAlone(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        for _ in 0..<3 { try await append(h.store, grant) }
        func store(_ operation: FlagOperation, _ uid: Int64, folder: String = inbox, in other: GrantID? = nil) async throws -> FlagStoreResult {
            try await h.store.storeFlags(grant: other ?? grant, folderID: folder, uids: UIDSet(uid...uid), operation: operation,
                                         unchangedSince: nil)
        }
        let before = try #require(try await h.store.folder(grant: grant, id: inbox))
        let untouched = try await h.store.snapshot(grant: grant, folderID: inbox).messages
        let seen = try await store(.add(["\\Seen", "Project"]), 2)
        #expect(seen.changed.map(\.uid) == [2] && seen.changed.first?.flags == ["Project", "\\Seen"])
        #expect(seen.changed.first?.modseq == before.highestModseq + 1)
        var folder = try #require(try await h.store.folder(grant: grant, id: inbox))
        #expect(folder.highestModseq == before.highestModseq + 1 && folder.unseenCount == before.unseenCount - 1)
        // Another spelling of a keyword it has, or a flag it has: nothing changes, no modseq is taken.
        #expect(try await store(.add(["PROJECT", "\\seen"]), 2).changed.isEmpty)
        #expect(try await store(.add(["\\Seen"]), 99).changed.isEmpty, "no message under that UID")
        #expect(try #require(try await h.store.folder(grant: grant, id: inbox)).highestModseq == before.highestModseq + 1)
        let deleted = try await store(.replace(["\\Deleted"]), 2)
        #expect(deleted.changed.first?.flags == ["\\Deleted"] && deleted.changed.first?.modseq == before.highestModseq + 2)
        folder = try #require(try await h.store.folder(grant: grant, id: inbox))
        #expect(folder.unseenCount == before.unseenCount && folder.deletedCount == before.deletedCount + 1)
        let cleared = try await store(.remove(["\\DELETED"]), 2)
        #expect(cleared.changed.first?.flags == .empty)
        folder = try #require(try await h.store.folder(grant: grant, id: inbox))
        #expect(folder.deletedCount == before.deletedCount && folder.highestModseq == before.highestModseq + 3)
        // The other messages kept their flags and modseqs.
        let snapshot = try await h.store.snapshot(grant: grant, folderID: inbox)
        #expect(snapshot.messages.map(\.flags) == [.empty, .empty, .empty])
        #expect(snapshot.messages[0] == untouched[0] && snapshot.messages[2] == untouched[2])
        // One event per change, for the message changed.
        let updates = try await h.events(grant).filter { $0.type == "message.updated" }
        let changedID = try #require(seen.changed.first?.messageID)
        #expect(updates.map(\.objectID) == Array(repeating: changedID, count: 3))
        await #expect(throws: MailStoreError.noSuchFolder) { try await store(.add(["\\Seen"]), 1, folder: "nope") }
        await #expect(throws: MailStoreError.noSuchGrant) { try await store(.add(["\\Seen"]), 1, in: .random()) }
    }

    /// A STORE of one UID that would change nothing (`+FLAGS` of flags the message holds in any
    /// spelling, `-FLAGS` of flags it lacks) takes no modseq (migration 41 decides it from the first
    /// read); `-FLAGS` of one flag in its stored spelling keeps the others in order, and in another
    /// spelling takes the stored one away; the counters follow.
    static func aStoreOfOneMessageRemovesByNameAndSkipsWhatChangesNothing(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        try await append(h.store, grant)
        func store(_ operation: FlagOperation) async throws -> FlagStoreResult {
            try await h.store.storeFlags(grant: grant, folderID: inbox, uids: UIDSet(1...1), operation: operation, unchangedSince: nil)
        }
        let all = try await store(.add(["Project", "\\Flagged", "\\Seen", "$Label1"]))
        #expect(all.changed.first?.flags == ["$Label1", "Project", "\\Flagged", "\\Seen"])
        let before = try #require(try await h.store.folder(grant: grant, id: inbox))
        #expect(try await store(.remove(["\\Answered", "Elsewhere"])).changed.isEmpty)
        #expect(try await store(.add(["project", "\\FLAGGED"])).changed.isEmpty)
        #expect(try await store(.add([])).changed.isEmpty)
        #expect(try #require(try await h.store.folder(grant: grant, id: inbox)).highestModseq == before.highestModseq)
        let unflagged = try await store(.remove(["\\Flagged"]))
        #expect(unflagged.changed.first?.flags == ["$Label1", "Project", "\\Seen"])
        #expect(unflagged.changed.first?.modseq == before.highestModseq + 1)
        let noProject = try await store(.remove(["PROJECT"]))
        #expect(noProject.changed.first?.flags == ["$Label1", "\\Seen"])
        let unseen = try await store(.remove(["\\Seen"]))
        #expect(unseen.changed.first?.flags == ["$Label1"])
        let after = try #require(try await h.store.folder(grant: grant, id: inbox))
        #expect(after.unseenCount == before.unseenCount + 1 && after.highestModseq == before.highestModseq + 3)
        // Names that Postgres quotes in an array's text: the word NULL, a comma, a brace.
        let quoted = try await store(.add(["NULL", "a,b", "x}y"]))
        #expect(quoted.changed.first?.flags == ["$Label1", "NULL", "a,b", "x}y"])
        #expect(try await store(.add(["null", "A,B"])).changed.isEmpty)
        #expect(try await store(.remove(["Nothing,here"])).changed.isEmpty)
        #expect(try await store(.remove(["a,b"])).changed.first?.flags == ["$Label1", "NULL", "x}y"])
        #expect(try await store(.remove(["null"])).changed.first?.flags == ["$Label1", "x}y"])
        let snapshot = try await h.store.snapshot(grant: grant, folderID: inbox)
        #expect(snapshot.messages.map(\.flags) == [["$Label1", "x}y"]])
    }

    /// A keyword is one flag in any letter case: adding another spelling keeps the stored one,
    /// removing any spelling takes it away, and a replacement keeps one spelling per name.
    static func keywordsAreOneFlagInAnyLetterCase(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        for _ in 0..<2 { try await append(h.store, grant) }
        func store(_ operation: FlagOperation, _ uids: UIDSet = .all) async throws -> FlagStoreResult {
            try await h.store.storeFlags(grant: grant, folderID: inbox, uids: uids, operation: operation, unchangedSince: nil)
        }
        _ = try await store(.add(["Project"]), UIDSet(1...1))
        #expect(try await store(.add(["project", "PROJECT"]), UIDSet(1...1)).changed.isEmpty, "no second spelling")
        let both = try await store(.add(["PROJECT"]))
        #expect(both.changed.map(\.uid) == [2] && both.changed.first?.flags == ["PROJECT"])
        let removed = try await store(.remove(["project"]))
        #expect(removed.changed.map(\.uid) == [1, 2] && removed.changed.allSatisfy { $0.flags == .empty })
        let replaced = try await store(.replace(["$Label1", "\\Seen"]))
        #expect(replaced.changed.allSatisfy { $0.flags == ["$Label1", "\\Seen"] })
        #expect(try await store(.add(["$label1"])).changed.isEmpty)
    }

    static func changesSinceReportExactlyWhatChanged(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        for _ in 0..<3 { try await append(h.store, grant) }
        let mark = try #require(try await h.store.folder(grant: grant, id: inbox)).highestModseq
        #expect(try await h.store.changes(grant: grant, folderID: inbox, since: mark).isEmpty)
        _ = try await h.store.storeFlags(grant: grant, folderID: inbox, uids: UIDSet(uids: [1, 2]), operation: .add([MessageFlags.deleted]),
                                         unchangedSince: nil)
        let fourth = try await append(h.store, grant)
        let expunged = try await h.store.expunge(grant: grant, folderID: inbox, uids: UIDSet(uids: [2]))
        #expect(expunged.expunged == [2])
        let changes = try await h.store.changes(grant: grant, folderID: inbox, since: mark)
        #expect(changes.added.map(\.uid) == [fourth.uid])
        #expect(changes.changed.map(\.uid) == [1] && changes.changed.first?.flags == [MessageFlags.deleted])
        #expect(changes.expunged == [2])
        let folder = try #require(try await h.store.folder(grant: grant, id: inbox))
        #expect(changes.highestModseq == folder.highestModseq && changes.uidNext == 5 && changes.uidValidity == folder.uidValidity)
        // From the latest modseq nothing is new; from an older one the history is still there.
        #expect(try await h.store.changes(grant: grant, folderID: inbox, since: changes.highestModseq).isEmpty)
        let fromStart = try await h.store.changes(grant: grant, folderID: inbox, since: 0)
        #expect(fromStart.added.map(\.uid) == [1, 3, 4] && fromStart.expunged == [2])
        let trashChanges = try await h.store.changes(grant: grant, folderID: trash, since: mark)
        #expect(trashChanges.added.count == 1 && trashChanges.added.first?.flags == [])
        await #expect(throws: MailStoreError.noSuchFolder) { try await h.store.changes(grant: grant, folderID: "nope", since: 0) }
    }

    static func expungeMovesToTrashAndDeletesForGoodThere(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let message = TestMessage(messageID: uniqueID())
        let kept = try await append(h.store, grant)
        let doomed = try await append(h.store, grant, inbox, message, flags: [MessageFlags.deleted, MessageFlags.seen])
        let quotaBefore = try await h.store.quota(grant: grant)
        #expect(quotaBefore.messageCount == 2)
        let result = try await h.store.expunge(grant: grant, folderID: inbox, uids: nil)
        #expect(result.expunged == [doomed.uid])
        let trashFolder = try #require(try await h.store.folder(grant: grant, id: trash))
        #expect(result.movedToTrash?.destinationUIDValidity == trashFolder.uidValidity)
        #expect(result.movedToTrash?.pairs.map(\.source) == [doomed.uid] && result.movedToTrash?.pairs.map(\.destination) == [1])
        let moved = try #require(try await h.store.message(grant: grant, id: doomed.messageID, includeRaw: false))
        #expect(moved.folderID == trash && moved.uid == 1 && moved.flags == [MessageFlags.seen])
        #expect(try await h.store.snapshot(grant: grant, folderID: inbox).messages.map(\.uid) == [kept.uid])
        #expect(try await h.store.quota(grant: grant) == quotaBefore)
        // Not \Deleted in Trash: EXPUNGE leaves it.
        #expect(try await h.store.expunge(grant: grant, folderID: trash, uids: nil).expunged.isEmpty)
        _ = try await h.store.storeFlags(grant: grant, folderID: trash, uids: .all, operation: .add([MessageFlags.deleted]), unchangedSince: nil)
        let gone = try await h.store.expunge(grant: grant, folderID: trash, uids: UIDSet(1...1))
        #expect(gone.expunged == [1] && gone.movedToTrash == nil)
        #expect(try await h.store.message(grant: grant, id: doomed.messageID, includeRaw: false) == nil)
        let quotaAfter = try await h.store.quota(grant: grant)
        #expect(quotaAfter.messageCount == 1 && quotaAfter.usedBytes == quotaBefore.usedBytes - Int64(message.raw.count))
        #expect(try await h.store.changes(grant: grant, folderID: trash, since: 0).expunged == [1])
        // UID EXPUNGE touches only the given UIDs.
        let a = try await append(h.store, grant, flags: [MessageFlags.deleted])
        let b = try await append(h.store, grant, flags: [MessageFlags.deleted])
        #expect(try await h.store.expunge(grant: grant, folderID: inbox, uids: UIDSet(uids: [b.uid])).expunged == [b.uid])
        #expect(try await h.store.snapshot(grant: grant, folderID: inbox).messages.map(\.uid) == [kept.uid, a.uid])
    }

    static func moveKeepsTheIDAndCopyMakesANewOne(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let message = TestMessage(messageID: uniqueID())
        let original = try await append(h.store, grant, inbox, message, flags: [MessageFlags.flagged])
        try await append(h.store, grant)
        let archive = SystemFolder.archive.apiID
        let copied = try await h.store.copy(grant: grant, from: inbox, uids: .all, to: archive)
        #expect(copied.sourceUIDs == [1, 2] && copied.destinationUIDs == [1, 2])
        let copies = try await h.store.fetch(grant: grant, folderID: archive, uids: .all, includeRaw: true)
        #expect(copies.count == 2 && !copies.contains { $0.id == original.messageID })
        #expect(copies.first?.raw == message.raw && copies.first?.flags == [MessageFlags.flagged])
        #expect(copies.first?.threadID == original.threadID)
        let quota = try await h.store.quota(grant: grant)
        #expect(quota.messageCount == 4)
        let mark = try #require(try await h.store.folder(grant: grant, id: inbox)).highestModseq
        let moved = try await h.store.move(grant: grant, from: inbox, uids: UIDSet(uids: [1]), to: archive)
        #expect(moved.sourceUIDs == [1] && moved.destinationUIDs == [3])
        let after = try #require(try await h.store.message(grant: grant, id: original.messageID, includeRaw: false))
        #expect(after.folderID == archive && after.uid == 3 && after.flags == [MessageFlags.flagged])
        #expect(try await h.store.changes(grant: grant, folderID: inbox, since: mark).expunged == [1])
        #expect(try await h.store.quota(grant: grant) == quota)
        // Deleting the original for good keeps the copy's bytes.
        try await h.store.deleteMessage(grant: grant, id: original.messageID)
        try await h.store.deleteMessage(grant: grant, id: original.messageID)
        #expect(try await h.store.message(grant: grant, id: original.messageID, includeRaw: false) == nil)
        #expect(try await h.store.fetch(grant: grant, folderID: archive, uids: UIDSet(uids: [1]), includeRaw: true).first?.raw == message.raw)
        #expect(try await h.store.move(grant: grant, from: inbox, uids: UIDSet(uids: [99]), to: archive).pairs.isEmpty)
        await #expect(throws: MailStoreError.noSuchFolder) { try await h.store.move(grant: grant, from: inbox, uids: .all, to: "nope") }
    }

    /// Several messages in one call (MULTIAPPEND) are stored all together or not at all.
    static func batchAppendIsAllOrNothing(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let small = TestMessage(messageID: uniqueID("batch-a"), body: "a")
        let big = TestMessage(messageID: uniqueID("batch-b"), body: String(repeating: "b", count: 2000))
        try await h.store.setQuotaLimit(grant: grant, bytes: Int64(small.raw.count + 100))
        let batch = [small, big].map { NewMessage(raw: $0.raw, facts: $0.facts, flags: .empty, internalDate: 1_767_225_600) }
        await #expect(throws: MailStoreError.overQuota(limit: Int64(small.raw.count + 100))) {
            try await h.store.append(grant: grant, folderID: inbox, messages: batch)
        }
        #expect(try await h.store.snapshot(grant: grant, folderID: inbox).messages.isEmpty)
        #expect(try await h.store.folder(grant: grant, id: inbox)?.uidNext == 1)
        try await h.store.setQuotaLimit(grant: grant, bytes: nil)
        // The second copy of a Message-ID within one batch is deduplicated against the first.
        let results = try await h.store.append(grant: grant, folderID: inbox, messages: batch + [batch[0]])
        #expect(results.map(\.uid) == [1, 2, 1] && results.map(\.deduplicated) == [false, false, true])
        #expect(try await h.store.quota(grant: grant).messageCount == 2)
    }

    /// Within one batch each message sees the ones before it, as if they were appended in turn: a
    /// reply joins the thread of its parent earlier in the batch, a parent joins the thread of a reply
    /// that came before it, a Message-ID repeated in the batch or already in the folder answers with
    /// the message that has it, and the folder's counters, UIDNEXT and the quota add up.
    static func oneBatchBehavesLikeMessagesAppendedInTurn(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let existingID = uniqueID("existing")
        let existing = try await append(h.store, grant, inbox, TestMessage(messageID: existingID, subject: "Before"))
        let rootID = uniqueID("root"), parentID = uniqueID("parent")
        let messages = [
            TestMessage(messageID: rootID, subject: "Plans"),
            TestMessage(messageID: uniqueID(), subject: "Re: Plans", inReplyTo: [rootID]),
            TestMessage(messageID: uniqueID(), subject: "Re: Later", references: [parentID]),
            TestMessage(messageID: parentID, subject: "Later"),
            TestMessage(messageID: rootID, subject: "Plans"),
            TestMessage(messageID: existingID, subject: "Before"),
            TestMessage(subject: "No identifier", body: "same bytes"),
            TestMessage(subject: "No identifier", body: "same bytes"),
        ]
        let batch = messages.enumerated().map { index, message in
            NewMessage(raw: message.raw, facts: message.facts, flags: index == 1 ? [MessageFlags.seen] : .empty, internalDate: 1_767_225_600)
        }
        let results = try await h.store.append(grant: grant, folderID: inbox, messages: batch)
        #expect(results.map(\.uid) == [2, 3, 4, 5, 2, 1, 6, 7])
        #expect(results.map(\.deduplicated) == [false, false, false, false, true, true, false, false])
        #expect(results[1].threadID == results[0].threadID)
        #expect(results[3].threadID == results[2].threadID)
        #expect(results[2].threadID != results[0].threadID)
        #expect(results[4].messageID == results[0].messageID && results[4].threadID == results[0].threadID)
        #expect(results[5].messageID == existing.messageID && results[5].uid == existing.uid)
        #expect(Set(results.map(\.modseq)).count == 2, "the batch shares one modseq; the earlier message keeps its own")
        let folder = try #require(try await h.otherNode.folder(grant: grant, id: inbox))
        let stored = try await h.otherNode.fetch(grant: grant, folderID: inbox, uids: .all, includeRaw: false)
        #expect(stored.map(\.uid) == [1, 2, 3, 4, 5, 6, 7])
        #expect(folder.uidNext == 8 && folder.totalCount == 7 && folder.unseenCount == 6)
        #expect(folder.sizeBytes == stored.reduce(0) { $0 + $1.size })
        #expect(folder.highestModseq == results[0].modseq)
        let quota = try await h.store.quota(grant: grant)
        #expect(quota.messageCount == 7 && quota.usedBytes == folder.sizeBytes, "the repeats are not counted")
    }

    static func quotaIsExactAndEnforced(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        #expect(try await h.store.quota(grant: grant) == QuotaUsage(usedBytes: 0, limitBytes: h.defaultQuota, messageCount: 0))
        let message = TestMessage(body: String(repeating: "x", count: 100))
        let size = Int64(message.raw.count)
        try await h.store.setQuotaLimit(grant: grant, bytes: size * 2)
        try await append(h.store, grant, inbox, message)
        try await append(h.store, grant, inbox, message)
        #expect(try await h.store.quota(grant: grant) == QuotaUsage(usedBytes: size * 2, limitBytes: size * 2, messageCount: 2))
        await #expect(throws: MailStoreError.overQuota(limit: size * 2)) { try await append(h.store, grant, inbox, message) }
        await #expect(throws: MailStoreError.overQuota(limit: size * 2)) {
            try await h.store.copy(grant: grant, from: inbox, uids: .all, to: sent)
        }
        // A failed APPEND leaves no trace: no UID used, nothing counted.
        #expect(try await h.store.folder(grant: grant, id: inbox)?.uidNext == 3)
        #expect(try await h.store.folder(grant: grant, id: sent)?.uidNext == 1)
        // Moving to Trash keeps the bytes counted; deleting there frees them.
        let firstUID = try #require(try await h.store.snapshot(grant: grant, folderID: inbox).messages.first?.uid)
        let first = try #require(try await h.store.fetch(grant: grant, folderID: inbox, uids: UIDSet(uids: [firstUID]),
                                                         includeRaw: false).first)
        try await h.store.deleteMessage(grant: grant, id: first.id)
        #expect(try await h.store.quota(grant: grant).usedBytes == size * 2)
        try await h.store.deleteMessage(grant: grant, id: first.id)
        #expect(try await h.store.quota(grant: grant) == QuotaUsage(usedBytes: size, limitBytes: size * 2, messageCount: 1))
        try await append(h.store, grant, inbox, message)
        try await h.store.setQuotaLimit(grant: grant, bytes: nil)
        #expect(try await h.store.quota(grant: grant).limitBytes == h.defaultQuota)
        await #expect(throws: MailStoreError.noSuchGrant) { try await h.store.quota(grant: .random()) }
        await #expect(throws: MailStoreError.noSuchGrant) { try await append(h.store, .random()) }
    }

    static func customFoldersFollowTheSeed(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let child = try await h.store.createFolder(grant: grant, name: "Projects/2026")
        let parent = try #require(try await h.store.folder(grant: grant, name: "Projects"))
        #expect(child.name == "Projects/2026" && child.parentID == parent.id && parent.parentID == nil)
        #expect(child.systemFolder == nil && child.uidNext == 1 && child.id != parent.id)
        #expect(try await h.store.folders(grant: grant).map(\.name).suffix(2) == ["Projects", "Projects/2026"])
        await #expect(throws: MailStoreError.folderExists) { try await h.store.createFolder(grant: grant, name: "Projects") }
        await #expect(throws: MailStoreError.folderExists) { try await h.store.createFolder(grant: grant, name: "inbox") }
        await #expect(throws: MailStoreError.folderExists) { try await h.store.createFolder(grant: grant, name: "Sent") }
        await #expect(throws: MailStoreError.self) { try await h.store.createFolder(grant: grant, name: "a//b") }
        await #expect(throws: MailStoreError.self) { try await h.store.createFolder(grant: grant, name: "") }
        for system in SystemFolder.allCases {
            await #expect(throws: MailStoreError.cannotModifySystemFolder) { try await h.store.deleteFolder(grant: grant, id: system.apiID) }
            await #expect(throws: MailStoreError.cannotModifySystemFolder) {
                try await h.store.renameFolder(grant: grant, id: system.apiID, to: "Other")
            }
        }
        // Rename carries the children along; ids stay.
        let renamed = try await h.store.renameFolder(grant: grant, id: parent.id, to: "Work/Old")
        #expect(renamed.id == parent.id && renamed.name == "Work/Old" && renamed.parentID != nil)
        #expect(try await h.store.folder(grant: grant, id: child.id)?.name == "Work/Old/2026")
        await #expect(throws: MailStoreError.folderExists) { try await h.store.renameFolder(grant: grant, id: child.id, to: "Work") }
        // Delete: messages go for good, quota released; a new folder of the same name has a new UIDVALIDITY.
        try await append(h.store, grant, child.id)
        #expect(try await h.store.quota(grant: grant).messageCount == 1)
        try await h.store.deleteFolder(grant: grant, id: child.id)
        #expect(try await h.store.folder(grant: grant, id: child.id) == nil)
        #expect(try await h.store.quota(grant: grant) == QuotaUsage(usedBytes: 0, limitBytes: h.defaultQuota, messageCount: 0))
        let again = try await h.store.createFolder(grant: grant, name: "Work/Old/2026")
        #expect(again.id != child.id && again.uidValidity != child.uidValidity)
        await #expect(throws: MailStoreError.noSuchFolder) { try await h.store.deleteFolder(grant: grant, id: child.id) }
    }

    static func threadsFollowReferencesThenSubject(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let rootID = uniqueID("root")
        let root = try await append(h.store, grant, inbox, TestMessage(messageID: rootID, subject: "Plans"))
        let reply = try await append(h.store, grant, sent, TestMessage(messageID: uniqueID(), subject: "Re: Plans", inReplyTo: [rootID]))
        #expect(reply.threadID == root.threadID)
        let byReferences = try await append(h.store, grant, inbox, TestMessage(messageID: uniqueID(), subject: "changed subject",
                                                                              references: ["unknown@x", rootID]))
        #expect(byReferences.threadID == root.threadID)
        // A reply whose references are unknown joins by subject; a new message of the same subject does not.
        let bySubject = try await append(h.store, grant, inbox, TestMessage(messageID: uniqueID(), subject: "RE: Fwd:  plans",
                                                                           inReplyTo: ["lost@x"]))
        #expect(bySubject.threadID == root.threadID)
        let fresh = try await append(h.store, grant, inbox, TestMessage(messageID: uniqueID(), subject: "Plans"))
        #expect(fresh.threadID != root.threadID)
        // Outside the window the subject does not join.
        let old = try await append(h.store, grant, inbox, TestMessage(messageID: uniqueID(), subject: "Re: Plans"), date: 1_600_000_000)
        #expect(old.threadID != root.threadID)
        // The reply arrived before its parent: the parent joins the reply's thread.
        let parentID = uniqueID("parent")
        let early = try await append(h.store, grant, inbox, TestMessage(messageID: uniqueID(), subject: "Re: Later", references: [parentID]))
        let parent = try await append(h.store, grant, sent, TestMessage(messageID: parentID, subject: "Later"))
        #expect(parent.threadID == early.threadID)
    }

    static func apiReadsAndUpdates(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        var ids: [String] = []
        for day in 0..<5 { ids.append(try await append(h.store, grant, day % 2 == 0 ? inbox : sent, date: 1_767_225_600 + Int64(day) * 86_400).messageID) }
        let first = try await h.store.listMessages(grant: grant, folderID: nil, cursor: nil, limit: 2)
        #expect(first.messages.map(\.id) == [ids[4], ids[3]])
        let second = try await h.store.listMessages(grant: grant, folderID: nil, cursor: first.nextCursor, limit: 2)
        #expect(second.messages.map(\.id) == [ids[2], ids[1]])
        let last = try await h.store.listMessages(grant: grant, folderID: nil, cursor: second.nextCursor, limit: 2)
        #expect(last.messages.map(\.id) == [ids[0]] && last.nextCursor == nil)
        let inboxOnly = try await h.store.listMessages(grant: grant, folderID: inbox, cursor: nil, limit: 10)
        #expect(inboxOnly.messages.map(\.id) == [ids[4], ids[2], ids[0]])
        await #expect(throws: MailStoreError.invalidCursor) { try await h.store.listMessages(grant: grant, folderID: nil, cursor: "x", limit: 2) }
        await #expect(throws: MailStoreError.noSuchFolder) { try await h.store.listMessages(grant: grant, folderID: "nope", cursor: nil, limit: 2) }

        let target = ids[0]
        let before = try #require(try await h.store.message(grant: grant, id: target, includeRaw: false))
        let read = try await h.store.updateMessage(grant: grant, id: target, MessageUpdate(unread: false, starred: true))
        #expect(!read.unread && read.starred && read.flags == [MessageFlags.flagged, MessageFlags.seen] && read.modseq > before.modseq)
        #expect(read.uid == before.uid && read.folderID == inbox)
        let moved = try await h.store.updateMessage(grant: grant, id: target, MessageUpdate(unread: true, folderID: SystemFolder.archive.apiID))
        #expect(moved.id == target && moved.folderID == "archive" && moved.unread && moved.starred && moved.uid == 1)
        #expect(try await h.store.changes(grant: grant, folderID: inbox, since: read.modseq).expunged == [before.uid])
        let unchanged = try await h.store.updateMessage(grant: grant, id: target, MessageUpdate(unread: true))
        #expect(unchanged.modseq == moved.modseq)
        await #expect(throws: MailStoreError.noSuchMessage) { try await h.store.updateMessage(grant: grant, id: "nope", MessageUpdate(unread: true)) }
        await #expect(throws: MailStoreError.noSuchFolder) {
            try await h.store.updateMessage(grant: grant, id: target, MessageUpdate(folderID: "nope"))
        }
        await #expect(throws: MailStoreError.noSuchMessage) { try await h.store.deleteMessage(grant: grant, id: "nope") }
    }

    static func changesCommitWithEventsAndAreAnnounced(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let folder = try await h.store.createFolder(grant: grant, name: "Receipts")
        let first = TestMessage(messageID: uniqueID())
        let appended = try await append(h.store, grant, inbox, first)
        _ = try await append(h.store, grant, inbox, TestMessage(messageID: uniqueID()), flags: [MessageFlags.deleted])
        let flagged = try await h.store.storeFlags(grant: grant, folderID: inbox, uids: UIDSet(uids: [appended.uid]),
                                                   operation: .add([MessageFlags.seen]), unchangedSince: nil)
        let copy = try await h.store.copy(grant: grant, from: inbox, uids: UIDSet(uids: [appended.uid]), to: folder.id)
        let expunge = try await h.store.expunge(grant: grant, folderID: inbox, uids: nil)
        let moved = try await h.store.move(grant: grant, from: trash, uids: .all, to: folder.id)
        try await h.store.deleteFolder(grant: grant, id: folder.id)
        // A deduplicated APPEND changes nothing and says nothing.
        #expect(try await append(h.store, grant, inbox, first).deduplicated)
        // The grant's own `grant.created` comes first; the mailbox's events follow in commit order.
        let all = try await h.events(grant)
        #expect(all.first?.type == "grant.created")
        let events = all.filter { !$0.type.hasPrefix("grant.") }
        #expect(events.map(\.type) == [
            "folder.created", "message.created", "message.created", "message.updated", "message.created",
            "message.updated", "message.updated", "message.deleted", "message.deleted", "folder.deleted",
        ])
        #expect(events[1].objectID == appended.messageID && events[3].objectID == appended.messageID)
        #expect(events.first?.objectID == folder.id && events.last?.objectID == folder.id)
        let calls = await h.notifier.calls(for: grant)
        #expect(calls.map(\.folderID) == [nil, inbox, inbox, inbox, folder.id, inbox, trash, trash, folder.id, nil])
        #expect(calls.map(\.modseq) == calls.map(\.modseq).sorted())
        // The expunge into Trash and the move each changed two folders in one commit: told once each.
        #expect(await h.notifier.announcements(for: grant) == calls.count - 2)
        #expect(calls[5].modseq == calls[6].modseq && calls[7].modseq == calls[8].modseq)
        #expect(calls[3].modseq == flagged.changed.first?.modseq)
        #expect(!copy.pairs.isEmpty && expunge.expunged.count == 1 && moved.pairs.count == 1)
    }

    /// Two nodes, 50 APPENDs each, all at once, to one folder: no UID is shared, and UIDs ascend
    /// in commit order (the order of the modseqs the appends got).
    static func concurrentAppendsFromTwoNodesNeverShareAUID(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let perNode = 50
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for node in [h.store, h.otherNode] {
                for index in 0..<perNode {
                    group.addTask {
                        try await append(node, grant, inbox, TestMessage(messageID: uniqueID(), body: "message \(index)"))
                    }
                }
            }
            var all: [AppendResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 2 * perNode)
        #expect(Set(results.map(\.uid)) == Set(1...Int64(2 * perNode)))
        let inCommitOrder = results.sorted { $0.modseq < $1.modseq }
        #expect(Set(results.map(\.modseq)).count == results.count)
        #expect(inCommitOrder.map(\.uid) == inCommitOrder.map(\.uid).sorted())
        let folder = try #require(try await h.store.folder(grant: grant, id: inbox))
        #expect(folder.totalCount == 2 * perNode && folder.uidNext == Int64(2 * perNode + 1))
        #expect(try await h.store.quota(grant: grant).messageCount == Int64(2 * perNode))
    }

    /// Concurrent APPENDs of one Message-ID from two nodes store it once.
    static func concurrentDuplicateAppendsStoreOnce(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let message = TestMessage(messageID: uniqueID())
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for node in [h.store, h.otherNode, h.store, h.otherNode] {
                group.addTask { try await append(node, grant, sent, message) }
            }
            var all: [AppendResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(Set(results.map(\.messageID)).count == 1 && results.filter { !$0.deduplicated }.count == 1)
        #expect(try await h.store.folder(grant: grant, id: sent)?.totalCount == 1)
    }

    /// Two nodes appending, flagging, moving, copying and expunging at once: afterwards the quota
    /// is exactly the sum of what is stored, and every folder's UIDs are unique and below UIDNEXT.
    static func concurrentMixedChangesKeepTheInvariants(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let archive = SystemFolder.archive.apiID
        for index in 0..<10 { try await append(h.store, grant, inbox, TestMessage(body: "seed \(index)")) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (nodeIndex, node) in [h.store, h.otherNode].enumerated() {
                for round in 0..<10 {
                    group.addTask {
                        switch round % 5 {
                        case 0: try await append(node, grant, inbox, TestMessage(body: "node \(nodeIndex) round \(round)"))
                        case 1: _ = try await node.storeFlags(grant: grant, folderID: inbox, uids: .all, operation: .add([MessageFlags.deleted]),
                                                              unchangedSince: nil)
                        case 2: _ = try await node.move(grant: grant, from: inbox, uids: UIDSet(1...Int64(5 + round)), to: archive)
                        case 3: _ = try await node.copy(grant: grant, from: archive, uids: .all, to: sent)
                        default: _ = try await node.expunge(grant: grant, folderID: inbox, uids: nil)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        var bytes: Int64 = 0, count: Int64 = 0
        for folder in try await h.store.folders(grant: grant) {
            let messages = try await h.store.fetch(grant: grant, folderID: folder.id, uids: .all, includeRaw: false)
            bytes += messages.reduce(0) { $0 + $1.size }
            count += Int64(messages.count)
            #expect(Set(messages.map(\.uid)).count == messages.count)
            #expect(messages.allSatisfy { $0.uid < folder.uidNext && $0.modseq <= folder.highestModseq && $0.folderID == folder.id })
            #expect(folder.totalCount == messages.count)
        }
        let quota = try await h.store.quota(grant: grant)
        #expect(quota.usedBytes == bytes && quota.messageCount == count)
    }

    /// Facts a caller filled in by hand with absurd sizes are bounded, not refused by an index.
    static func hostileHeadersAreStoredSafely(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        var message = TestMessage(subject: String(repeating: "Re: ", count: 50) + String(repeating: "long ", count: 2000))
        message.facts.messageIDHeader = String(repeating: "x", count: 5000) + "@example.test"
        message.facts.references = (0..<500).map { "ref\($0)-" + String(repeating: "r", count: 3000) }
        message.facts.normalizedSubject = String(repeating: "n", count: 20_000)
        let appended = try await append(h.store, grant, inbox, message)
        let stored = try #require(try await h.store.message(grant: grant, id: appended.messageID, includeRaw: true))
        #expect(stored.raw == message.raw && stored.facts.messageIDHeader == nil && stored.facts.references.isEmpty)
        #expect(stored.facts.normalizedSubject.count == MessageFacts.maximumThreadSubjectLength)
    }

    /// Every behaviour, by name, for backends' parameterized tests.
    /// The folder counters agree with the messages after every kind of change, from either node.
    static func folderCountersFollowEveryChange(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        func expectCountsMatch(_ folderID: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let folder = try #require(try await h.otherNode.folder(grant: grant, id: folderID), sourceLocation: sourceLocation)
            let messages = try await h.otherNode.fetch(grant: grant, folderID: folderID, uids: .all, includeRaw: false)
            #expect(folder.totalCount == messages.count, sourceLocation: sourceLocation)
            #expect(folder.unseenCount == messages.filter { !$0.flags.isSeen }.count, sourceLocation: sourceLocation)
            #expect(folder.deletedCount == messages.filter(\.flags.isDeleted).count, sourceLocation: sourceLocation)
            #expect(folder.sizeBytes == messages.reduce(0) { $0 + $1.size }, sourceLocation: sourceLocation)
        }
        for index in 0..<5 {
            try await append(index.isMultiple(of: 2) ? h.store : h.otherNode, grant, inbox,
                             TestMessage(messageID: uniqueID(), body: String(repeating: "y", count: index * 10)),
                             flags: index == 0 ? [MessageFlags.seen] : .empty)
        }
        try await expectCountsMatch(inbox)
        _ = try await h.store.storeFlags(grant: grant, folderID: inbox, uids: UIDSet(2...3), operation: .add([MessageFlags.seen, MessageFlags.deleted]),
                                         unchangedSince: nil)
        try await expectCountsMatch(inbox)
        _ = try await h.otherNode.storeFlags(grant: grant, folderID: inbox, uids: UIDSet(3...3), operation: .replace([]), unchangedSince: nil)
        try await expectCountsMatch(inbox)
        _ = try await h.store.expunge(grant: grant, folderID: inbox, uids: nil)
        try await expectCountsMatch(inbox)
        try await expectCountsMatch(trash)
        _ = try await h.store.copy(grant: grant, from: inbox, uids: .all, to: sent)
        _ = try await h.otherNode.move(grant: grant, from: inbox, uids: UIDSet(1...1), to: trash)
        for folder in [inbox, sent, trash] { try await expectCountsMatch(folder) }
        _ = try await h.store.storeFlags(grant: grant, folderID: trash, uids: .all, operation: .add([MessageFlags.deleted]), unchangedSince: nil)
        _ = try await h.store.expunge(grant: grant, folderID: trash, uids: nil)
        try await expectCountsMatch(trash)
        #expect(try await h.store.folder(grant: grant, id: trash)?.totalCount == 0)
        let created = try await h.store.createFolder(grant: grant, name: "Counted")
        _ = try await h.store.copy(grant: grant, from: sent, uids: .all, to: created.id)
        try await expectCountsMatch(created.id)
        try await h.store.deleteFolder(grant: grant, id: created.id)
        try await expectCountsMatch(sent)
    }

    /// SELECT and APPEND read by name in one query each; INBOX in any case, unknown names nil.
    static func readsByNameFindTheFolder(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        let appended = try await append(h.store, grant, inbox, TestMessage(messageID: uniqueID()), flags: [MessageFlags.flagged])
        let snapshot = try #require(try await h.store.snapshot(grant: grant, name: "inbox"))
        #expect(snapshot.folder.id == inbox)
        #expect(snapshot.messages.map(\.uid) == [appended.uid])
        #expect(snapshot.messages.first?.flags == [MessageFlags.flagged])
        #expect(try await h.store.snapshot(grant: grant, name: "No such folder") == nil)
        let empty = try #require(try await h.store.snapshot(grant: grant, name: "Sent"))
        #expect(empty.messages.isEmpty && empty.folder.id == sent)
        let (folder, quota) = try #require(try await h.store.appendTarget(grant: grant, name: "INBOX"))
        #expect(folder.id == inbox && folder.totalCount == 1)
        #expect(quota == (try await h.store.quota(grant: grant)))
        #expect(try await h.store.appendTarget(grant: grant, name: "Nowhere") == nil)
    }

    static let all: [(String, @Sendable (MailStoreHarness) async throws -> Void)] = [
        ("folderCountersFollowEveryChange", folderCountersFollowEveryChange),
        ("aStoreOfOneMessageChangesItAlone", aStoreOfOneMessageChangesItAlone),
        ("aStoreOfOneMessageRemovesByNameAndSkipsWhatChangesNothing", aStoreOfOneMessageRemovesByNameAndSkipsWhatChangesNothing),
        ("readsByNameFindTheFolder", readsByNameFindTheFolder),
        ("systemFoldersAndTheirState", systemFoldersAndTheirState),
        ("appendAssignsAscendingUIDsAndModseqs", appendAssignsAscendingUIDsAndModseqs),
        ("fetchReturnsFactsAndBytesOnlyWhenAsked", fetchReturnsFactsAndBytesOnlyWhenAsked),
        ("appendDeduplicatesOnMessageIDInTheTargetFolder", appendDeduplicatesOnMessageIDInTheTargetFolder),
        ("storeFlagsAddsRemovesReplacesAndHonoursUnchangedSince", storeFlagsAddsRemovesReplacesAndHonoursUnchangedSince),
        ("keywordsAreOneFlagInAnyLetterCase", keywordsAreOneFlagInAnyLetterCase),
        ("changesSinceReportExactlyWhatChanged", changesSinceReportExactlyWhatChanged),
        ("expungeMovesToTrashAndDeletesForGoodThere", expungeMovesToTrashAndDeletesForGoodThere),
        ("moveKeepsTheIDAndCopyMakesANewOne", moveKeepsTheIDAndCopyMakesANewOne),
        ("quotaIsExactAndEnforced", quotaIsExactAndEnforced),
        ("batchAppendIsAllOrNothing", batchAppendIsAllOrNothing),
        ("oneBatchBehavesLikeMessagesAppendedInTurn", oneBatchBehavesLikeMessagesAppendedInTurn),
        ("customFoldersFollowTheSeed", customFoldersFollowTheSeed),
        ("threadsFollowReferencesThenSubject", threadsFollowReferencesThenSubject),
        ("apiReadsAndUpdates", apiReadsAndUpdates),
        ("changesCommitWithEventsAndAreAnnounced", changesCommitWithEventsAndAreAnnounced),
        ("concurrentAppendsFromTwoNodesNeverShareAUID", concurrentAppendsFromTwoNodesNeverShareAUID),
        ("concurrentDuplicateAppendsStoreOnce", concurrentDuplicateAppendsStoreOnce),
        ("hostileHeadersAreStoredSafely", hostileHeadersAreStoredSafely),
        ("concurrentMixedChangesKeepTheInvariants", concurrentMixedChangesKeepTheInvariants),
        ("subscriptionsAreNamesThatOutliveTheirFolders", subscriptionsAreNamesThatOutliveTheirFolders),
        ("recentMessagesAreClaimedOnceAcrossNodes", recentMessagesAreClaimedOnceAcrossNodes),
    ]

    /// RFC 3501 2.3.2: a message is recent for exactly one session. Claims from two nodes at once
    /// split the UIDs between them without overlap; STATUS RECENT counts what no one claimed.
    static func recentMessagesAreClaimedOnceAcrossNodes(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        for _ in 0..<3 { try await append(h.store, grant) }
        #expect(try await h.store.recentCount(grant: grant, folderID: inbox) == 3)
        #expect(try await h.store.folder(grant: grant, id: inbox)?.firstRecentUID == 1)
        #expect(try await h.store.claimRecent(grant: grant, folderID: inbox, through: 2) == 1)
        #expect(try await h.otherNode.claimRecent(grant: grant, folderID: inbox, through: 2) == nil)
        #expect(try await h.store.recentCount(grant: grant, folderID: inbox) == 1)
        for _ in 0..<20 { try await append(h.store, grant) }
        // Many sessions claim up to different UIDs at once: every UID 3...23 goes to one of them.
        let claims = try await withThrowingTaskGroup(of: (Int64, Int64?).self) { group in
            for through in Int64(3)...23 {
                let store = through % 2 == 0 ? h.store : h.otherNode
                group.addTask { (through, try await store.claimRecent(grant: grant, folderID: inbox, through: through)) }
            }
            var claims: [(Int64, Int64?)] = []
            for try await claim in group { claims.append(claim) }
            return claims
        }
        var owners = [Int64: Int](), claimed = 0
        for (through, first) in claims {
            guard let first else { continue }
            for uid in first...through { owners[uid, default: 0] += 1 }
            claimed += 1
        }
        #expect(owners.keys.sorted() == Array(3...23) && owners.values.allSatisfy { $0 == 1 } && claimed >= 1)
        #expect(try await h.store.recentCount(grant: grant, folderID: inbox) == 0)
        #expect(try await h.store.claimRecent(grant: grant, folderID: inbox, through: 23) == nil)
        // A read of the changes can claim what it reports, once, and only what it reports.
        let mark = try #require(try await h.store.folder(grant: grant, id: inbox)).highestModseq
        for _ in 0..<2 { try await append(h.store, grant) }
        let seen = try await h.store.changes(grant: grant, folderID: inbox, since: mark, claimingRecent: true)
        #expect(seen.added.map(\.uid) == [24, 25] && seen.firstClaimedRecent == 24)
        #expect(try await h.otherNode.changes(grant: grant, folderID: inbox, since: mark, claimingRecent: true).firstClaimedRecent == nil)
        #expect(try await h.store.recentCount(grant: grant, folderID: inbox) == 0)
        try await append(h.store, grant)
        #expect(try await h.store.changes(grant: grant, folderID: inbox, since: mark).firstClaimedRecent == nil)
        #expect(try await h.store.recentCount(grant: grant, folderID: inbox) == 1)
        #expect(try await h.otherNode.changes(grant: grant, folderID: inbox, since: mark, claimingRecent: true).firstClaimedRecent == 26)
    }

    /// System folders start subscribed; subscriptions are names, seen from every node, and a folder's
    /// rename or deletion leaves them alone.
    static func subscriptionsAreNamesThatOutliveTheirFolders(_ h: MailStoreHarness) async throws {
        let grant = try await h.makeGrant()
        #expect(Set(try await h.store.subscriptions(grant: grant)) == ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"])
        let work = try await h.store.createFolder(grant: grant, name: "Work")
        #expect(!(try await h.store.subscriptions(grant: grant)).contains("Work"), "CREATE does not subscribe")
        try await h.store.subscribe(grant: grant, names: ["Work", "Later/Maybe", "Work"])
        #expect(Set(try await h.otherNode.subscriptions(grant: grant)).isSuperset(of: ["Work", "Later/Maybe"]))
        _ = try await h.store.renameFolder(grant: grant, id: work.id, to: "Job")
        #expect(Set(try await h.store.subscriptions(grant: grant)).isSuperset(of: ["Work", "Later/Maybe"]))
        #expect(!(try await h.store.subscriptions(grant: grant)).contains("Job"))
        #expect(try await h.otherNode.unsubscribe(grant: grant, names: ["Work", "Nothing"]) == ["Work"])
        #expect(try await h.store.unsubscribe(grant: grant, names: ["Work"]).isEmpty)
        await #expect(throws: MailStoreError.noSuchGrant) { try await h.store.subscribe(grant: .random(), names: ["INBOX"]) }
    }
}
