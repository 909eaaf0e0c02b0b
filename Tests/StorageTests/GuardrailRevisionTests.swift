import MailCore
import Storage
import TestSupport
import Testing

/// Two changes of one object reaching a region in either order leave the later one (by revision);
/// a delete's tombstone keeps an earlier change from bringing the object back.
@Suite struct GuardrailRevisionTests {
    @Test func theHighestRevisionWinsInAnyOrder() async throws {
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let store = PostgresGuardrailStore(client: client, logger: TestEnvironment.logger)
            let id = "revised-\(ObjectIDGenerator.uuid())"
            func policy(_ name: String, id objectID: String? = nil) -> MailPolicy {
                MailPolicy(id: objectID ?? id, name: name, limits: .init(), spamDetection: .init(), createdAt: 0, updatedAt: 0)
            }
            let base = GuardrailRevision.next()
            try await store.revised(base + 20).put(.policy, id: id, policy("later"), createdAt: 0)
            try await store.revised(base + 10).put(.policy, id: id, policy("earlier, arrived late"), createdAt: 0)
            #expect(try await store.one(.policy, id: id, as: MailPolicy.self)?.name == "later")
            #expect(try await !store.revised(base + 15).delete(.policy, id: id))
            #expect(try await store.one(.policy, id: id, as: MailPolicy.self)?.name == "later")
            #expect(try await store.revised(base + 30).delete(.policy, id: id))
            try await store.revised(base + 25).put(.policy, id: id, policy("before the delete, arrived late"), createdAt: 0)
            #expect(try await store.one(.policy, id: id, as: MailPolicy.self) == nil)
            #expect(try await !store.all(.policy, as: MailPolicy.self).contains { $0.id == id })
            // A delete reaching a region before the object leaves a tombstone there too.
            let unseen = "unseen-\(ObjectIDGenerator.uuid())"
            #expect(try await !store.revised(base + 50).delete(.policy, id: unseen))
            try await store.revised(base + 40).put(.policy, id: unseen, MailPolicy(id: unseen, name: "late", limits: .init(), spamDetection: .init(),
                                                                                 createdAt: 0, updatedAt: 0), createdAt: 0)
            #expect(try await store.one(.policy, id: unseen, as: MailPolicy.self) == nil)
            #expect(try await store.currentRevision(.policy, id: unseen) == base + 50)
            // An undo holds only where its change is still the latest.
            let undone = "undone-\(ObjectIDGenerator.uuid())"
            try await store.revised(base + 60).put(.policy, id: undone, policy("first", id: undone), createdAt: 0)
            try await store.revised(base + 70).put(.policy, id: undone, policy("second", id: undone), createdAt: 0)
            try await store.undoing(base + 60, with: base + 80).put(.policy, id: undone, policy("undo of first", id: undone), createdAt: 0)
            #expect(try await !store.undoing(base + 60, with: base + 80).delete(.policy, id: undone))
            #expect(try await store.one(.policy, id: undone, as: MailPolicy.self)?.name == "second")
            #expect(try await store.undoing(base + 70, with: base + 90).delete(.policy, id: undone))
            #expect(try await store.one(.policy, id: undone, as: MailPolicy.self) == nil)
            // A tombstone goes once it is old enough; revisions of one process only go up.
            #expect(try await store.pruneTombstones(deletedBefore: WallClock.unixSeconds() + 1) >= 1)
            let (first, second) = (GuardrailRevision.next(), GuardrailRevision.next())
            #expect(second > first)
        }
    }
}
