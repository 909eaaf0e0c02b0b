import Foundation
import MailCore
import MIME
import Testing
@testable import Storage

/// What a node keeps in its content cache after an APPEND is exactly what a read from Postgres
/// returns for the message: a FETCH answered from the cache and one answered from the store say
/// the same, byte for byte, whichever the node happens to use.
@Suite struct AppendedContentCacheTests {
    static let corpusDirectory: String = {
        var components = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        components.removeLast(3)  // StorageTests/AppendedContentCacheTests.swift, Tests
        return components.joined(separator: "/") + "/../shared/corpus/python-email"
    }()

    static func corpus() throws -> [[UInt8]] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpusDirectory)
            .filter { $0.hasPrefix("msg_") && $0.hasSuffix(".txt") }.sorted()
        return try names.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: corpusDirectory + "/" + $0))) }
    }

    @Test func theCorpusAppendedIsCachedAsTheStoreReadsIt() async throws {
        let corpus = try Self.corpus()
        try #require(corpus.count >= 40, "the corpus at \(Self.corpusDirectory) is missing")
        try await PostgresMailStoreTests.withHarness { h in
            let grant = try await h.makeGrant()
            let cache = MessageContentCache(capacityBytes: 64 << 20)
            let flags = MessageFlags(["\\Seen", "$Label1"])
            // One MULTIAPPEND of the whole corpus, then the same messages again: every one of the
            // second batch is a duplicate by Message-ID (or stored anew when it has none).
            for _ in 0..<2 {
                let messages = corpus.map { raw in
                    NewMessage(raw: raw, facts: MessageFacts(parsing: MIMEMessage(parsing: raw)), flags: flags, internalDate: 1_767_225_600)
                }
                let results = try await h.store.append(grant: grant, folderID: "inbox", messages: messages, claimingRecent: false)
                #expect(results.allSatisfy { ($0.storedAt != nil) == !$0.deduplicated })
                cache.keepAppended(messages, as: results, grant: grant, folderID: "inbox")
            }
            let stored = try await h.store.fetch(grant: grant, folderID: "inbox", uids: .all, includeRaw: true)
            #expect(stored.count >= corpus.count)
            let (found, missing) = cache.lookUp(grant: grant, folderID: "inbox", uids: stored.map(\.uid), needsRaw: true)
            #expect(missing.isEmpty)
            for message in stored {
                let cached = try #require(found[message.uid])
                // Field by field, so that a difference names itself without printing the bytes.
                #expect(cached.id == message.id && cached.threadID == message.threadID && cached.flags == message.flags)
                #expect(cached.modseq == message.modseq && cached.internalDate == message.internalDate && cached.size == message.size)
                #expect(cached.createdAt == message.createdAt && cached.updatedAt == message.updatedAt && cached.savedAt == message.savedAt)
                #expect(cached.facts == message.facts, "UID \(message.uid): the facts differ")
                #expect(cached.raw == message.raw, "UID \(message.uid): the bytes differ")
                #expect(cached == message)
            }
        }
    }

    /// A message with NUL in a text is stored without it: the cache, which would keep it, leaves
    /// the message out, and a read brings what the store holds.
    @Test func aTextWithNULIsReadFromTheStore() async throws {
        let raw = Array("Message-ID: <nul@example.test>\r\nSubject: a\u{0}b\r\nFrom: A <a@example.test>\r\n\r\nx\u{0}y\r\n".utf8)
        let message = NewMessage(raw: raw, facts: MessageFacts(parsing: MIMEMessage(parsing: raw)), flags: .empty, internalDate: 0)
        #expect(message.facts.holdsNUL)
        try await PostgresMailStoreTests.withHarness { h in
            let grant = try await h.makeGrant()
            let cache = MessageContentCache(capacityBytes: 1 << 20)
            let results = try await h.store.append(grant: grant, folderID: "inbox", messages: [message], claimingRecent: false)
            cache.keepAppended([message], as: results, grant: grant, folderID: "inbox")
            #expect(cache.lookUp(grant: grant, folderID: "inbox", uids: results.map(\.uid), needsRaw: false).missing == results.map(\.uid))
            let stored = try await h.store.fetch(grant: grant, folderID: "inbox", uids: .all, includeRaw: false)
            #expect(stored.first?.facts.subject == "ab" && stored.first?.facts.holdsNUL == false)
        }
    }

    @Test func duplicatesUnsaidTimesAndWhatPassesAnEighthAreNotCached() {
        let cache = MessageContentCache(capacityBytes: 64 * 1024)
        let grant = GrantID.random()
        let raw = Array("Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody\r\n".utf8)
        let message = NewMessage(raw: raw, facts: MessageFacts(parsing: MIMEMessage(parsing: raw)), flags: .empty, internalDate: 0)
        let duplicate = AppendResult(messageID: "m1", uid: 7, uidValidity: 1, modseq: 3, threadID: "t", deduplicated: true, storedAt: 10)
        let unsaid = AppendResult(messageID: "m2", uid: 8, uidValidity: 1, modseq: 4, threadID: "t", deduplicated: false, storedAt: nil)
        cache.keepAppended([message, message], as: [duplicate, unsaid], grant: grant, folderID: "inbox")
        #expect(cache.lookUp(grant: grant, folderID: "inbox", uids: [7, 8], needsRaw: false).missing == [7, 8])
        // 8 KiB is an eighth of this cache: two messages of 3 KiB fit, the third does not.
        let large = NewMessage(raw: raw + Array(repeating: UInt8(ascii: "x"), count: 3072 - raw.count), facts: message.facts,
                               flags: .empty, internalDate: 0)
        let results = (1...3).map { AppendResult(messageID: "n\($0)", uid: Int64(10 + $0), uidValidity: 1, modseq: 5, threadID: "t",
                                                 deduplicated: false, storedAt: 10) }
        cache.keepAppended([large, large, large], as: results, grant: grant, folderID: "inbox")
        #expect(cache.lookUp(grant: grant, folderID: "inbox", uids: [11, 12, 13], needsRaw: true).missing == [13])
    }
}
