import Testing
@testable import MailCore

@Suite struct MessageContentCacheTests {
    static let grant = GrantID.random()

    static func message(_ uid: Int64, raw: [UInt8]? = nil, folderID: String = "inbox") -> StoredMessage {
        StoredMessage(id: "m\(uid)", grantID: grant, folderID: folderID, uid: uid, threadID: "t", flags: .empty, modseq: 1,
                      internalDate: 0, size: Int64(raw?.count ?? 0), facts: MessageFacts(subject: "s\(uid)"), raw: raw,
                      createdAt: 0, updatedAt: 0)
    }

    @Test func keptContentIsFoundAndTheRestIsMissing() {
        let cache = MessageContentCache(capacityBytes: 1 << 20)
        cache.insert([Self.message(1), Self.message(2, raw: [1, 2, 3])])
        let plain = cache.lookUp(grant: Self.grant, folderID: "inbox", uids: [1, 2, 3], needsRaw: false)
        #expect(Set(plain.found.keys) == [1, 2])
        #expect(plain.missing == [3])
        // Bytes are wanted: only the entry read with its bytes counts.
        let raw = cache.lookUp(grant: Self.grant, folderID: "inbox", uids: [1, 2], needsRaw: true)
        #expect(Set(raw.found.keys) == [2])
        #expect(raw.found[2]?.raw == [1, 2, 3])
        #expect(raw.missing == [1])
        // Another folder or another grant never sees these entries.
        #expect(cache.lookUp(grant: Self.grant, folderID: "other", uids: [1], needsRaw: false).missing == [1])
        #expect(cache.lookUp(grant: .random(), folderID: "inbox", uids: [1], needsRaw: false).missing == [1])
        // A copy with bytes replaces one without.
        cache.insert([Self.message(1, raw: [9])])
        #expect(cache.lookUp(grant: Self.grant, folderID: "inbox", uids: [1], needsRaw: true).found[1]?.raw == [9])
    }

    @Test func holdsNoMoreThanItsCapacity() {
        let capacity = 64 * 1024
        let cache = MessageContentCache(capacityBytes: capacity)
        let body = [UInt8](repeating: 65, count: 1000)
        cache.insert((1...500).map { Self.message($0, raw: body) })
        let kept = cache.lookUp(grant: Self.grant, folderID: "inbox", uids: Array(1...500), needsRaw: true).found
        let held = kept.values.reduce(0) { $0 + MessageContentCache.cost(of: $1) }
        #expect(!kept.isEmpty)
        #expect(held <= capacity)
        // The newest entries are the ones kept.
        #expect(kept[500] != nil)
        #expect(kept[1] == nil)
    }

    @Test func aReadEntrySurvivesTheTurnOfGenerations() {
        let cache = MessageContentCache(capacityBytes: 64 * 1024)
        let body = [UInt8](repeating: 65, count: 1000)
        cache.insert([Self.message(1, raw: body)])
        for batch in 0..<10 {
            cache.insert((0..<10).map { Self.message(Int64(100 + batch * 10 + $0), raw: body) })
            #expect(cache.lookUp(grant: Self.grant, folderID: "inbox", uids: [1], needsRaw: true).found[1] != nil)
        }
    }

    @Test func aLargeMessageOrACapacityOfZeroKeepsNothing() {
        let cache = MessageContentCache(capacityBytes: 8 * 1024)
        cache.insert([Self.message(1, raw: [UInt8](repeating: 0, count: 2000))])
        #expect(cache.lookUp(grant: Self.grant, folderID: "inbox", uids: [1], needsRaw: true).missing == [1])
        let off = MessageContentCache(capacityBytes: 0)
        off.insert([Self.message(1)])
        #expect(off.lookUp(grant: Self.grant, folderID: "inbox", uids: [1], needsRaw: false).missing == [1])
    }
}
