import Logging
import MailCore
import NIOConcurrencyHelpers
import Testing
@testable import Cluster

/// Verified credentials are remembered per stored hash, without the password; announcements carry
/// the change's modseq.
@Suite struct PasswordCacheAndEventTests {
    @Test func remembersOnlyWhatWasVerifiedForThatHash() {
        let cache = VerifiedCredentials(capacity: 10)
        cache.insert("Correct-Horse-42-Battery", for: "$2b$10$hashA")
        #expect(cache.contains("Correct-Horse-42-Battery", for: "$2b$10$hashA"))
        #expect(!cache.contains("Correct-Horse-42-Batterz", for: "$2b$10$hashA"))
        // A changed password has a new stored hash: the old entry no longer matches.
        #expect(!cache.contains("Correct-Horse-42-Battery", for: "$2b$10$hashB"))
    }

    @Test func staysWithinItsCapacity() {
        let cache = VerifiedCredentials(capacity: 4)
        for index in 0..<9 { cache.insert("password-\(index)", for: "hash-\(index)") }
        #expect(cache.count <= 4)
        #expect(cache.contains("password-8", for: "hash-8"))
        #expect(!cache.contains("password-0", for: "hash-0"))
    }

    @Test func hasherAcceptsARememberedPasswordAndRefusesOthers() async throws {
        let hasher = PasswordHasher(cost: 4)
        let hash = try await hasher.hash("Correct-Horse-42-Battery")
        #expect(await hasher.verify("Correct-Horse-42-Battery", against: hash))
        #expect(await hasher.verify("Correct-Horse-42-Battery", against: hash))
        #expect(await !hasher.verify("Wrong-Horse-42-Battery", against: hash))
    }

    @Test(arguments: [
        ("inbox 42", "inbox", Int64(42)),
        ("* 7", nil, Int64(7)),
        ("*", nil, nil),
        ("sent", "sent", nil),
        ("trash notanumber", "trash", nil),
    ] as [(String, String?, Int64?)])
    func parsesAnnouncements(_ payload: String, _ folder: String?, _ modseq: Int64?) {
        let events = MailboxEventBus.parse(payload)
        guard events.count == 1, case .mailboxChanged(let folderID, let parsedModseq) = events[0] else {
            Issue.record("not one mailbox change: \(events)")
            return
        }
        #expect(folderID == folder && parsedModseq == modseq)
    }

    /// A commit that changed several folders (an expunge into Trash, a move) is one announcement
    /// that each node hands on as one change per folder.
    @Test(arguments: [
        ("* 42 inbox,trash", ["inbox", "trash"], Int64(42)),
        ("* 7 a1,b2,c3", ["a1", "b2", "c3"], Int64(7)),
        ("* 7 inbox", ["inbox"], Int64(7)),
        ("* x inbox,trash", ["inbox", "trash"], nil),
    ] as [(String, [String], Int64?)])
    func parsesAnnouncementsOfSeveralFolders(_ payload: String, _ folders: [String], _ modseq: Int64?) {
        let events = MailboxEventBus.parse(payload)
        var parsed: [String] = []
        for event in events {
            guard case .mailboxChanged(let folderID?, let parsedModseq) = event, parsedModseq == modseq else {
                Issue.record("not a change of one folder at \(String(describing: modseq)): \(event)")
                return
            }
            parsed.append(folderID)
        }
        #expect(parsed == folders)
    }

    /// What a node that predates folder lists makes of one: the first word names the folder and
    /// the rest must be a modseq. It reads a grant-wide change of unknown modseq, on which its
    /// sessions read what changed.
    @Test func aFolderListReadsAsAGrantWideChangeToAnOlderNode() {
        let payload = MailboxEventBus.payload(folderIDs: ["inbox", "trash"], modseq: 42)
        let parts = payload.split(separator: " ", maxSplits: 1)
        #expect(parts.first == "*")
        #expect(parts.count == 2 && Int64(parts[1]) == nil)
    }

    @Test func announcementsRoundTrip() {
        let one = MailboxEventBus.parse(MailboxEventBus.payload(folderID: "f1", modseq: 9))
        guard one.count == 1, case .mailboxChanged(let folderID, let modseq) = one[0] else {
            Issue.record("not one mailbox change: \(one)")
            return
        }
        #expect(folderID == "f1" && modseq == 9)
        let several = MailboxEventBus.parse(MailboxEventBus.payload(folderIDs: ["inbox", "trash"], modseq: 12))
        #expect(several.count == 2)
        for (event, folder) in zip(several, ["inbox", "trash"]) {
            guard case .mailboxChanged(folder?, 12) = event else {
                Issue.record("not \(folder) at 12: \(event)")
                return
            }
        }
        guard MailboxEventBus.parse(MailboxEventBus.credentialsPrefix).count == 1,
              case .credentialsChanged = MailboxEventBus.parse(MailboxEventBus.credentialsPrefix)[0] else {
            Issue.record("not a credentials change")
            return
        }
    }
}

extension PasswordCacheAndEventTests {
    @Test func concurrentChecksOfOnePasswordShareTheirAnswer() async throws {
        let hasher = PasswordHasher(cost: 4)
        let hash = try await hasher.hash("Correct-Horse-42-Battery")
        let answers = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask { await hasher.verify(index == 7 ? "Wrong-Horse-42-Battery" : "Correct-Horse-42-Battery", against: hash) }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(answers.filter { $0 }.count == 7)
    }

    /// A changed password is in force on this node when the call returns, before any Redis round
    /// trip (and even with Redis unreachable): a command sent after the API answered is refused.
    @Test func credentialChangesReachThisNodesSessionsBeforeTheCallReturns() async throws {
        let unreachable = try RedisEndpoint(url: "redis://127.0.0.1:1")
        let logger = Logger(label: "test")
        let bus = MailboxEventBus(publisher: RedisClient(endpoint: unreachable, commandTimeout: .seconds(1), logger: logger),
                                  subscriber: RedisSubscriber(endpoint: unreachable, logger: logger), logger: logger)
        let grant = GrantID.random(), other = GrantID.random()
        let heard = NIOLockedValueBox([String]())
        _ = bus.listen(grant: grant) { event in
            if case .credentialsChanged = event { heard.withLockedValue { $0.append("grant") } }
        }
        _ = bus.listen(grant: other) { _ in heard.withLockedValue { $0.append("other") } }
        await bus.credentialsChanged(grant: grant)
        #expect(heard.withLockedValue { $0 } == ["grant"])
    }
}
