@testable import Cluster
import MailCore
import Testing

@Suite struct RoutingCacheTests {
    let route = GrantRoute(grantID: .random(), email: "agent@example.com", region: Region(rawValue: "eu")!)

    @Test func answersByIDAndByAddress() {
        let cache = RoutingCache()
        cache.store(route)
        #expect(cache.route(for: route.grantID) == route)
        #expect(cache.route(forEmail: "agent@example.com") == route)
        #expect(cache.route(for: .random()) == nil)
    }

    @Test func invalidationByGrantDropsBothEntries() {
        let cache = RoutingCache()
        cache.store(route)
        cache.invalidate(message: RoutingCache.invalidationMessage(grantID: route.grantID, emails: []))
        #expect(cache.route(for: route.grantID) == nil)
        #expect(cache.route(forEmail: route.email) == nil)
    }

    @Test func invalidationByAddressDropsBothEntries() {
        let cache = RoutingCache()
        cache.store(route)
        cache.invalidate(message: "email:agent@example.com")
        #expect(cache.route(for: route.grantID) == nil)
    }

    @Test func flushForgetsEverything() {
        let cache = RoutingCache()
        cache.store(route)
        cache.invalidate(message: RoutingCache.flushMessage)
        #expect(cache.route(for: route.grantID) == nil)
    }

    @Test func garbageMessagesAreHarmless() {
        let cache = RoutingCache()
        cache.store(route)
        cache.invalidate(message: "grant:not-an-id email: \u{0} ")
        #expect(cache.route(for: route.grantID) == route)
    }

    @Test func entriesExpire() async throws {
        let cache = RoutingCache(timeToLive: .milliseconds(50))
        cache.store(route)
        try await Task.sleep(for: .milliseconds(80))
        #expect(cache.route(for: route.grantID) == nil)
    }

    @Test func boundedInSize() {
        let cache = RoutingCache()
        for index in 0...RoutingCache.maximumEntries {
            cache.store(GrantRoute(grantID: .random(), email: "a\(index)@example.com", region: route.region))
        }
        // Reaching the bound started the cache over: only the last entry remains.
        #expect(cache.route(forEmail: "a0@example.com") == nil)
        #expect(cache.route(forEmail: "a\(RoutingCache.maximumEntries)@example.com") != nil)
    }

    // MARK: Addresses no grant holds

    @Test func absencesAreKeptOnlyWhileChangesAreHeard() {
        let cache = RoutingCache()
        cache.storeAbsence("nobody@example.com", since: cache.generation)
        #expect(!cache.isAbsent("nobody@example.com"))
        cache.changesHeard(true)
        cache.storeAbsence("nobody@example.com", since: cache.generation)
        #expect(cache.isAbsent("nobody@example.com"))
        #expect(!cache.isAbsent("other@example.com"))
        cache.changesHeard(false)
        #expect(!cache.isAbsent("nobody@example.com"))
        cache.storeAbsence("nobody@example.com", since: cache.generation)
        cache.changesHeard(true)
        #expect(!cache.isAbsent("nobody@example.com"))
    }

    @Test func anAbsenceFoundWhileAChangeWasAnnouncedIsNotKept() {
        let cache = RoutingCache()
        cache.changesHeard(true)
        let before = cache.generation
        cache.invalidate(message: "email:nobody@example.com")
        cache.storeAbsence("nobody@example.com", since: before)
        #expect(!cache.isAbsent("nobody@example.com"))
    }

    @Test func everyAnnouncedChangeAndEveryReconnectForgetEveryAbsence() {
        let cache = RoutingCache()
        cache.changesHeard(true)
        for event in ["email:someone-else@example.com", RoutingCache.flushMessage, "reconnect"] {
            cache.storeAbsence("a@example.com", since: cache.generation)
            cache.storeAbsence("b@example.com", since: cache.generation)
            #expect(cache.isAbsent("a@example.com") && cache.isAbsent("b@example.com"))
            if event == "reconnect" { cache.changesHeard(true) } else { cache.invalidate(message: event) }
            #expect(!cache.isAbsent("a@example.com") && !cache.isAbsent("b@example.com"), "\(event)")
        }
    }

    @Test func aRouteStoredForTheAddressEndsItsAbsence() {
        let cache = RoutingCache()
        cache.changesHeard(true)
        cache.storeAbsence(route.email, since: cache.generation)
        cache.store(route)
        #expect(!cache.isAbsent(route.email))
    }

    @Test func absencesExpire() {
        let cache = RoutingCache(absenceTimeToLive: .zero)
        cache.changesHeard(true)
        cache.storeAbsence("nobody@example.com", since: cache.generation)
        #expect(!cache.isAbsent("nobody@example.com"))
    }
}
