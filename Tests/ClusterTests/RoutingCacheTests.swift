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

    /// What a node hears on the channel: its connection came up, then a heartbeat arrived.
    func hearing(_ cache: RoutingCache) {
        cache.changesHeard(true)
        cache.invalidate(message: RoutingCache.heartbeatMessage(node: "us-1"))
    }

    @Test func absencesAreKeptOnlyWhileChangesAreHeard() {
        let cache = RoutingCache()
        cache.storeAbsence("nobody@example.com", since: cache.generation)
        #expect(!cache.isAbsent("nobody@example.com"))
        cache.changesHeard(true)
        // Connected, but no heartbeat came through yet: the primary's changes may not reach it.
        cache.storeAbsence("nobody@example.com", since: cache.generation)
        #expect(!cache.isAbsent("nobody@example.com"))
        cache.invalidate(message: RoutingCache.heartbeatMessage(node: "us-1"))
        cache.storeAbsence("nobody@example.com", since: cache.generation)
        #expect(cache.isAbsent("nobody@example.com"))
        #expect(!cache.isAbsent("other@example.com"))
        cache.changesHeard(false)
        #expect(!cache.isAbsent("nobody@example.com"))
        cache.storeAbsence("nobody@example.com", since: cache.generation)
        hearing(cache)
        #expect(!cache.isAbsent("nobody@example.com"))
    }

    @Test func aHeartbeatChangesNothingElse() {
        let cache = RoutingCache()
        hearing(cache)
        cache.store(route)
        let generation = cache.generation
        cache.storeAbsence("nobody@example.com", since: generation)
        cache.invalidate(message: RoutingCache.heartbeatMessage(node: "eu-2"))
        #expect(cache.generation == generation)
        #expect(cache.isAbsent("nobody@example.com"))
        #expect(cache.route(for: route.grantID) == route)
    }

    @Test func aRouteKnownHereIsNeverMadeAbsent() {
        let cache = RoutingCache()
        hearing(cache)
        let generation = cache.generation
        cache.store(route)
        cache.storeAbsence(route.email, since: generation)
        #expect(!cache.isAbsent(route.email))
    }

    @Test func anAbsenceFoundWhileAChangeWasAnnouncedIsNotKept() {
        let cache = RoutingCache()
        hearing(cache)
        let before = cache.generation
        cache.invalidate(message: "email:nobody@example.com")
        cache.storeAbsence("nobody@example.com", since: before)
        #expect(!cache.isAbsent("nobody@example.com"))
    }

    @Test func everyAnnouncedChangeAndEveryReconnectForgetEveryAbsence() {
        let cache = RoutingCache()
        hearing(cache)
        for event in ["email:someone-else@example.com", RoutingCache.flushMessage, "reconnect"] {
            cache.storeAbsence("a@example.com", since: cache.generation)
            cache.storeAbsence("b@example.com", since: cache.generation)
            #expect(cache.isAbsent("a@example.com") && cache.isAbsent("b@example.com"))
            if event == "reconnect" { hearing(cache) } else { cache.invalidate(message: event) }
            #expect(!cache.isAbsent("a@example.com") && !cache.isAbsent("b@example.com"), "\(event)")
        }
    }

    @Test func aRouteStoredForTheAddressEndsItsAbsence() {
        let cache = RoutingCache()
        hearing(cache)
        cache.storeAbsence(route.email, since: cache.generation)
        cache.store(route)
        #expect(!cache.isAbsent(route.email))
    }

    @Test func absencesExpire() {
        let cache = RoutingCache(absenceTimeToLive: .zero)
        hearing(cache)
        cache.storeAbsence("nobody@example.com", since: cache.generation)
        #expect(!cache.isAbsent("nobody@example.com"))
    }

    @Test func aHeartbeatOlderThanTheTrustWindowTrustsNothing() {
        let cache = RoutingCache(absenceTimeToLive: .seconds(600), heartbeatTrust: .seconds(3))
        let start = ContinuousClock.now
        cache.changesHeard(true)
        cache.heartbeatHeard(at: start)
        cache.storeAbsence("nobody@example.com", since: cache.generation, at: start)
        #expect(cache.isAbsent("nobody@example.com", at: start + .seconds(2)))
        #expect(!cache.isAbsent("nobody@example.com", at: start + .seconds(4)))
        cache.storeAbsence("other@example.com", since: cache.generation, at: start + .seconds(4))
        #expect(!cache.isAbsent("other@example.com", at: start + .seconds(4)))
    }

    /// What was announced while no heartbeat came may never have arrived: the heartbeat that ends
    /// the silence forgets every absence, and one within the window keeps them.
    @Test func aHeartbeatAfterASilenceForgetsTheAbsences() {
        let cache = RoutingCache(absenceTimeToLive: .seconds(600), heartbeatTrust: .seconds(3))
        let start = ContinuousClock.now
        cache.changesHeard(true)
        cache.heartbeatHeard(at: start)
        cache.storeAbsence("nobody@example.com", since: cache.generation, at: start)
        cache.heartbeatHeard(at: start + .seconds(2))
        #expect(cache.isAbsent("nobody@example.com", at: start + .seconds(2)))
        cache.heartbeatHeard(at: start + .seconds(6))
        #expect(!cache.isAbsent("nobody@example.com", at: start + .seconds(6)))
    }

    @Test func absencesLastNoLongerThanTheTrustWindow() {
        #expect(RoutingCache.defaultAbsenceTimeToLive <= RoutingCache.defaultHeartbeatTrust)
    }
}
