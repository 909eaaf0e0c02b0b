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
}
