import Cluster
import MailCore
@testable import IMAPServer
import Testing

/// The session's timers, with the test moving the clock and delivering the ticks: nothing waits
/// for real time to pass.
@Suite(.serialized) struct SessionTimerTranscriptTests {
    @Test func autologoutAfterTheIdleLimitOutsideIDLE() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            nodes.clock.advance(by: nodes.contexts[0].timers.idleOutsideIDLE - .seconds(1))
            client.tick()
            try await client.run("""
                C: a NOOP
                S: a OK NOOP completed
                """)
            // The NOOP was activity: the limit counts from it.
            nodes.clock.advance(by: nodes.contexts[0].timers.idleOutsideIDLE - .seconds(1))
            client.tick()
            try await client.run("""
                C: b NOOP
                S: b OK NOOP completed
                """)
            nodes.clock.advance(by: nodes.contexts[0].timers.idleOutsideIDLE)
            client.tick()
            try await client.run("S: * BYE Autologout; idle for too long")
            try await client.ended()
        }
    }

    @Test func theConnectionSlotIsRenewedOnTheFirstTickAfterItsInterval() async throws {
        try await IMAPTestNodes.with { nodes in
            let slots = nodes.contexts[0].slots
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            func leaseEnd() async throws -> Double? {
                let reply = try await slots.redis.send(["ZRANGE", "conn:\(slots.surface):\(account.grant.id.rawValue)", "0", "-1", "WITHSCORES"])
                guard case .array(let items) = reply, items.count == 2 else { return nil }
                return items[1].string.flatMap(Double.init)
            }
            let granted = try #require(try await leaseEnd())
            nodes.clock.advance(by: ConnectionSlots.renewInterval - .seconds(1))
            client.tick()
            // Events are handled in order: once the NOOP is answered, the tick was handled.
            try await client.run("""
                C: a NOOP
                S: a OK NOOP completed
                """)
            #expect(try await leaseEnd() == granted)
            nodes.clock.advance(by: .seconds(1))
            client.tick()
            try await client.run("""
                C: b NOOP
                S: b OK NOOP completed
                """)
            let renewed = try #require(try await leaseEnd())
            #expect(renewed > granted)
        }
    }

    /// A session gives back what it holds when it ends: its connection slot and its listener.
    @Test func logoutReleasesTheConnectionSlot() async throws {
        try await IMAPTestNodes.with { nodes in
            let slots = nodes.contexts[0].slots
            let account = try await nodes.makeAccount()
            let key = "conn:\(slots.surface):\(account.grant.id.rawValue)"
            let client = try await nodes.login(account)
            #expect(try await slots.redis.send(["ZCARD", key]) == .integer(1))
            try await client.run("""
                C: z LOGOUT
                S: * BYE …
                S: z OK LOGOUT completed
                """)
            try await client.ended()
            #expect(try await slots.redis.send(["ZCARD", key]) == .integer(0))
        }
    }

    /// UNAUTHENTICATE (RFC 8437) gives back the connection slot and the selected mailbox, and the
    /// connection can log in again.
    @Test func unauthenticateReleasesTheSlotAndForgetsTheMailbox() async throws {
        try await IMAPTestNodes.with { nodes in
            let slots = nodes.contexts[0].slots
            let account = try await nodes.makeAccount()
            let key = "conn:\(slots.surface):\(account.grant.id.rawValue)"
            let client = try await nodes.login(account)
            try await client.run("""
                C: e ENABLE QRESYNC
                S: * ENABLED QRESYNC
                S: e OK ENABLE completed
                """)
            try await client.run(selectInbox(exists: 0, recent: 0, unseen: false))
            #expect(try await slots.redis.send(["ZCARD", key]) == .integer(1))
            try await client.run("""
                C: u UNAUTHENTICATE
                S: u OK UNAUTHENTICATE completed
                C: f FETCH 1 FLAGS
                S: f BAD FETCH requires authentication
                """)
            #expect(try await slots.redis.send(["ZCARD", key]) == .integer(0))
            try await client.run("""
                C: l LOGIN \(account.login)
                S: l OK [CAPABILITY …] Logged in
                C: n NOOP
                S: n OK NOOP completed
                C: e ENABLE QRESYNC
                S: * ENABLED QRESYNC
                S: e OK ENABLE completed
                """)
            #expect(try await slots.redis.send(["ZCARD", key]) == .integer(1))
            await client.close()
        }
    }

    @Test func idleSendsKeepalivesAndEndsAfterItsLimit() async throws {
        try await IMAPTestNodes.with { nodes in
            let timers = nodes.contexts[0].timers
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.run(selectInbox(exists: 0, recent: 0, unseen: false))
            try await client.run("""
                C: i IDLE
                S: + idling
                """)
            // IDLE is not subject to the autologout limit; keepalives go out on their interval.
            nodes.clock.advance(by: timers.keepalive)
            client.tick()
            try await client.run("S: * OK Still here")
            nodes.clock.advance(by: timers.maximumIDLE - timers.keepalive)
            client.tick()
            try await client.run("S: i OK IDLE terminated after 30 minutes; re-issue IDLE")
            // A DONE already on its way when the server ended IDLE is dropped without an answer.
            try await client.run("""
                C: DONE
                C: n NOOP
                S: n OK NOOP completed
                """)
            await client.close()
        }
    }

    /// A password changed where no announcement reached the node still ends an IDLE session: the
    /// session checks its credentials on the first tick 30 seconds after the last check.
    @Test func idleEndsOnTheTickThatFindsTheCredentialsChanged() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.run("""
                C: i IDLE
                S: + idling
                """)
            _ = try await nodes.grants.updateGrant(id: account.grant.id, email: account.grant.email,
                                                   appPasswordHash: try await nodes.hasher.hash("Changed\(Int.random(in: 1000...9999))pw"),
                                                   updatedAt: WallClock.unixSeconds())
            // The slot renewal's tick comes first and finds the check not yet due (the answer to
            // DONE shows it was handled); the next one, with nothing else due, must still run it.
            nodes.clock.advance(by: ConnectionSlots.renewInterval)
            client.tick()
            try await client.run("""
                C: DONE
                S: i OK IDLE terminated
                C: j IDLE
                S: + idling
                """)
            nodes.clock.advance(by: .seconds(30) - ConnectionSlots.renewInterval)
            client.tick()
            try await client.run("S: * BYE [AUTHENTICATIONFAILED] Credentials changed; log in again")
            try await client.ended()
        }
    }

    @Test func drainingSaysByeWithUnavailable() async throws {
        try await IMAPTestNodes.with { nodes in
            let client = try await nodes.connect()
            client.shutdown()
            try await client.run("S: * BYE [UNAVAILABLE] This node is shutting down; reconnect")
            try await client.ended()
        }
    }
}
