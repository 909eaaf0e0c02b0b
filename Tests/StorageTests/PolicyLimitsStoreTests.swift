import Logging
import MailCore
import PostgresNIO
import Storage
import TestSupport
import Testing

/// What the policy limits ask of the store: daily counts that concurrent writers never push past
/// their limit, the storage limit of a grant's workspace's policy in every write, and removal by
/// how long mail has been in its folder.
@Suite struct PolicyLimitsStoreTests {
    static func withStore(_ body: @escaping @Sendable (PostgresMailStore, PostgresGrantStore, PostgresGuardrailStore, PostgresClient) async throws -> Void)
        async throws {
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            try await TestEnvironment.keepEveryEvent(client)
            let store = PostgresMailStore(client: client, logger: TestEnvironment.logger, defaultQuotaBytes: 1 << 30)
            try await body(store, PostgresGrantStore(client: client, logger: TestEnvironment.logger),
                           PostgresGuardrailStore(client: client, logger: TestEnvironment.logger), client)
        }
    }

    static func makeGrant(_ grants: PostgresGrantStore) async throws -> GrantID {
        try await grants.createGrant(Grant(id: .random(), email: EmailAddress(TestEnvironment.uniqueEmail("limits"))!, region: Region(rawValue: "us")!,
                                           appPasswordHash: nil, createdAt: 0, updatedAt: 0)).id
    }

    /// A workspace `workspace-<name>` whose policy `policy-<name>` limits storage to `storageTotal`.
    static func putWorkspace(_ guardrails: PostgresGuardrailStore, named name: String,
                             storageTotal: Int64) async throws -> (policy: MailPolicy, workspaceID: String) {
        let policyID = "policy-\(name)", workspaceID = "workspace-\(name)"
        var policy = MailPolicy(id: policyID, name: "small", limits: .init(), spamDetection: .init(), createdAt: 0, updatedAt: 0)
        policy.limits.storageTotal = storageTotal
        try await guardrails.put(.policy, id: policyID, policy, createdAt: 0)
        try await guardrails.put(.workspace, id: workspaceID,
                                 Workspace(id: workspaceID, name: "w", domain: nil, autoGroup: false, isDefault: false, policyID: policyID,
                                           ruleIDs: [], createdAt: 0, updatedAt: 0), createdAt: 0)
        return (policy, workspaceID)
    }

    @Test func dailyCountsStopAtTheLimitUnderConcurrency() async throws {
        try await Self.withStore { store, grants, _, _ in
            let grant = try await Self.makeGrant(grants)
            let day: Int64 = 20_000
            let counted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<20 { group.addTask { try await store.countDaily(.sent, grant: grant, day: day, limit: 5) } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(counted == 5)
            #expect(try await store.dailyCounts(grant: grant, day: day) == DailyCounts(received: 0, sent: 5))
            try await store.uncountDaily(.sent, grant: grant, day: day)
            #expect(try await store.countDaily(.sent, grant: grant, day: day, limit: 5))
            #expect(try await !store.countDaily(.sent, grant: grant, day: day, limit: 5))
            // Received is counted apart; a new day starts from nothing; a limit of 0 takes nothing.
            #expect(try await store.countDaily(.received, grant: grant, day: day, limit: 1))
            #expect(try await store.countDaily(.sent, grant: grant, day: day + 1, limit: 1))
            #expect(try await !store.countDaily(.received, grant: grant, day: day + 2, limit: 0))
            #expect(try await store.dailyCounts(grant: grant, day: day) == DailyCounts(received: 1, sent: 5))
            #expect(try await store.pruneDailyCounts(before: day + 1) >= 1)
            #expect(try await store.dailyCounts(grant: grant, day: day) == DailyCounts())
            #expect(try await store.dailyCounts(grant: grant, day: day + 1).sent == 1)
            await #expect(throws: MailStoreError.noSuchGrant) { try await store.countDaily(.sent, grant: .random(), day: day, limit: 3) }
            _ = try await grants.deleteGrant(id: grant)
        }
    }

    @Test func theStorageLimitOfTheWorkspacesPolicyHoldsInEveryWrite() async throws {
        try await Self.withStore { store, grants, guardrails, client in
            let grant = try await Self.makeGrant(grants)
            let made = try await Self.putWorkspace(guardrails, named: "\(grant)", storageTotal: 1500)
            var policy = made.policy
            let policyID = policy.id, workspaceID = made.workspaceID
            // Until the grant is in the workspace, the store's default holds.
            #expect(try await store.quota(grant: grant).limitBytes == 1 << 30)
            _ = try await grants.setWorkspace(id: grant, workspaceID: workspaceID, updatedAt: 1)
            #expect(try await store.quota(grant: grant).limitBytes == 1500)
            let message = TestMessage(body: String(repeating: "x", count: 900))
            _ = try await store.append(grant: grant, folderID: "inbox", raw: message.raw, facts: message.facts, flags: .empty, internalDate: 1)
            await #expect(throws: MailStoreError.overQuota(limit: 1500)) {
                _ = try await store.append(grant: grant, folderID: "inbox", raw: message.raw, facts: message.facts, flags: .empty, internalDate: 2)
            }
            // -1 is as much as the plan allows (the store's default), and so is anything above it;
            // an operator's limit on the grant itself comes first.
            policy.limits.storageTotal = -1
            try await guardrails.put(.policy, id: policyID, policy, createdAt: 0)
            _ = try await store.append(grant: grant, folderID: "inbox", raw: message.raw, facts: message.facts, flags: .empty, internalDate: 3)
            #expect(try await store.quota(grant: grant).limitBytes == 1 << 30)
            policy.limits.storageTotal = 1 << 40
            try await guardrails.put(.policy, id: policyID, policy, createdAt: 0)
            #expect(try await store.quota(grant: grant).limitBytes == 1 << 30)
            let unlimited = PostgresMailStore(client: client, logger: TestEnvironment.logger, defaultQuotaBytes: Int64.max)
            #expect(try await unlimited.quota(grant: grant).limitBytes == 1 << 40)
            try await store.setQuotaLimit(grant: grant, bytes: 100)
            #expect(try await store.quota(grant: grant).limitBytes == 100)
            // A workspace that is gone: the default workspace's policy (none here), so the default.
            try await store.setQuotaLimit(grant: grant, bytes: nil)
            _ = try await guardrails.delete(.workspace, id: workspaceID)
            _ = try await guardrails.delete(.policy, id: policyID)
            #expect(try await store.quota(grant: grant).limitBytes == 1 << 30)
            _ = try await grants.deleteGrant(id: grant)
        }
    }

    /// A refresh of the storage limits that starts while a guardrail change is still uncommitted (a
    /// prune of tombstones, which takes no version row) waits for it, then computes the limits from
    /// what it committed (migration 43): the change's limit is not overwritten by older figures.
    @Test func aRefreshDuringAGuardrailChangeKeepsItsStorageLimit() async throws {
        try await Self.withStore { store, grants, guardrails, client in
            let grant = try await Self.makeGrant(grants)
            let (policy, workspaceID) = try await Self.putWorkspace(guardrails, named: "race-\(grant)", storageTotal: 1500)
            let policyID = policy.id
            _ = try await grants.setWorkspace(id: grant, workspaceID: workspaceID, updatedAt: 1)
            #expect(try await store.quota(grant: grant).limitBytes == 1500)
            let logger = TestEnvironment.logger
            try await client.withConnection { first in
                // The first change: the policy's limit raised, not yet committed.
                try await first.query("BEGIN", logger: logger)
                try await first.query(
                    """
                    UPDATE guardrail_objects SET document = jsonb_set(document, '{limits,limit_storage_total}', '4000')
                    WHERE kind = 'policy' AND id = \(policyID)
                    """, logger: logger)
                // Meanwhile tombstones are pruned, which refreshes the limits too.
                async let second = guardrails.pruneTombstones(deletedBefore: 0)
                #expect(try await TestEnvironment.waitUntilBlocked(by: first, queryContaining: "guardrail_objects", asking: client))
                try await first.query("COMMIT", logger: logger)
                _ = try await second
            }
            #expect(try await store.quota(grant: grant).limitBytes == 4000)
            _ = try await guardrails.delete(.workspace, id: workspaceID)
            _ = try await guardrails.delete(.policy, id: policyID)
            _ = try await grants.deleteGrant(id: grant)
        }
    }

    @Test func mailIsRemovedByHowLongItHasBeenInItsFolder() async throws {
        try await Self.withStore { store, grants, _, client in
            let grant = try await Self.makeGrant(grants)
            // The date a message carries does not count: it was saved now.
            for index in 0..<3 {
                let message = TestMessage(messageID: "retained-\(index)-\(grant)@example.test")
                _ = try await store.append(grant: grant, folderID: "inbox", raw: message.raw, facts: message.facts, flags: .empty, internalDate: 1000)
            }
            let now = WallClock.unixSeconds()
            #expect(try await store.removeMessages(grant: grant, folderID: "inbox", savedBefore: now - 60, limit: 10) == 0)
            #expect(try await store.removeMessages(grant: grant, folderID: "junk", savedBefore: now + 60, limit: 10) == 0)
            #expect(try await store.removeMessages(grant: grant, folderID: "inbox", savedBefore: now + 60, limit: 2) == 2)
            #expect(try await store.removeMessages(grant: grant, folderID: "inbox", savedBefore: now + 60, limit: 2) == 1)
            #expect(try await store.folders(grant: grant).first { $0.id == "inbox" }?.totalCount == 0)
            let rows = try await client.query(
                "SELECT count(*) FROM event_outbox WHERE grant_id = \(grant.rawValue)::uuid AND type = 'message.deleted'")
            for try await count in rows.decode(Int64.self) { #expect(count == 3) }
            _ = try await grants.deleteGrant(id: grant)
        }
    }
}
