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
            func policy(_ name: String) -> MailPolicy {
                MailPolicy(id: id, name: name, limits: .init(), spamDetection: .init(), createdAt: 0, updatedAt: 0)
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
            // A tombstone goes once it is old enough; revisions of one process only go up.
            #expect(try await store.pruneTombstones(deletedBefore: WallClock.unixSeconds() + 1) >= 1)
            let (first, second) = (GuardrailRevision.next(), GuardrailRevision.next())
            #expect(second > first)
        }
    }
}
