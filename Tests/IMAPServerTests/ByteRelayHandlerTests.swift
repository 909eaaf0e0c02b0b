@testable import IMAPServer
import NIOCore
import NIOEmbedded
import Testing

/// The two halves of a relayed connection: bytes cross unchanged, either side's close closes the
/// other, and a drain closes the relay only between two exchanges.
@Suite struct ByteRelayHandlerTests {
    private struct Relay {
        let loop = EmbeddedEventLoop()
        let client: EmbeddedChannel
        let upstream: EmbeddedChannel
        let clientSide: ByteRelayHandler

        init() throws {
            let (clientSide, upstreamSide) = ByteRelayHandler.pair(loop, loop)
            client = EmbeddedChannel(handler: clientSide, loop: loop)
            upstream = EmbeddedChannel(handler: upstreamSide, loop: loop)
            self.clientSide = clientSide
            try client.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
            try upstream.connect(to: .init(ipAddress: "127.0.0.1", port: 2)).wait()
        }

        func sent(by channel: EmbeddedChannel, _ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
            loop.run()
        }

        func received(on channel: EmbeddedChannel) throws -> String? {
            try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }
        }
    }

    @Test func bytesCrossBothWaysUnchanged() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a1 NOOP\r\n")
        #expect(try relay.received(on: relay.upstream) == "a1 NOOP\r\n")
        try relay.sent(by: relay.upstream, "a1 OK done\r\n")
        #expect(try relay.received(on: relay.client) == "a1 OK done\r\n")
    }

    @Test func aDrainNeverCutsACommandTheClientSentLast() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a1 SEARCH TEXT hello\r\n")
        relay.clientSide.closeWhenQuiet(.zero, afterAnswer: .zero)
        relay.loop.advanceTime(by: .seconds(1))
        #expect(relay.client.isActive)
    }

    @Test func aDrainClosesABusyRelayRightAfterTheAnswerToItsLastCommand() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a1 NOOP\r\n")
        relay.clientSide.closeWhenQuiet(.hours(1), afterAnswer: .zero)
        try relay.sent(by: relay.upstream, "* 3 EXISTS\r\n")
        relay.loop.advanceTime(by: .seconds(1))
        #expect(relay.client.isActive)
        try relay.sent(by: relay.upstream, "a1 OK NOOP completed\r\n")
        relay.loop.advanceTime(by: .milliseconds(10))
        #expect(!relay.client.isActive)
    }

    @Test func pipelinedCommandsAreAllAnsweredBeforeTheRelayCloses() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a1 NOOP\r\n")
        try relay.sent(by: relay.client, "a2 SELECT INBOX\r\n")
        relay.clientSide.closeWhenQuiet(.hours(1), afterAnswer: .zero)
        try relay.sent(by: relay.upstream, "a1 OK NOOP completed\r\n")
        relay.loop.advanceTime(by: .seconds(1))
        #expect(relay.client.isActive)
        try relay.sent(by: relay.upstream, "* 3 EXISTS\r\na2 OK [READ-WRITE] SELECT completed\r\n")
        relay.loop.advanceTime(by: .milliseconds(10))
        #expect(!relay.client.isActive)
    }

    @Test func anIDLEThatEndedKeepsItsCommandsTag() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a3 IDLE\r\n")
        try relay.sent(by: relay.upstream, "+ idling\r\n")
        try relay.sent(by: relay.client, "DONE\r\n")
        relay.clientSide.closeWhenQuiet(.hours(1), afterAnswer: .zero)
        relay.loop.advanceTime(by: .seconds(1))
        #expect(relay.client.isActive)
        try relay.sent(by: relay.upstream, "a3 OK IDLE terminated\r\n")
        relay.loop.advanceTime(by: .milliseconds(10))
        #expect(!relay.client.isActive)
    }

    @Test func aCommandSentAfterTheAnswerKeepsTheRelayOpen() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a1 NOOP\r\n")
        try relay.sent(by: relay.upstream, "a1 OK done\r\n")
        try relay.sent(by: relay.client, "a2 NOOP\r\n")
        relay.clientSide.closeWhenQuiet(.zero, afterAnswer: .zero)
        relay.loop.advanceTime(by: .seconds(1))
        #expect(relay.client.isActive)
    }

    @Test(arguments: [
        ("a1 OK done\r\n", "a1"), ("A0001 NO [TRYCREATE] no such mailbox\r\n", "A0001"), ("x.9 BAD\r\n", "x.9"),
        ("* 1 EXISTS\r\na1 OK NOOP completed\r\n", "a1"),
        ("* OK still here\r\n", nil), ("+ idling\r\n", nil), ("a1 OK done", nil), ("a1 OKAY\r\n", nil),
        ("* 1 FETCH (BODY[] {5}\r\nhello)\r\n", nil), ("a1 FETCH 1 BODY[]\r\n", nil), ("\r\n", nil), (" OK\r\n", nil),
    ] as [(String, String?)])
    func anAnswerEndsWithATaggedResponse(text: String, tag: String?) {
        #expect(IMAPLines.responseTag(endingWith: ByteBuffer(string: text)) == tag.map { Array($0.utf8) })
    }

    @Test(arguments: [
        ("a1 NOOP\r\n", "a1"), ("a2 select INBOX\r\n", "a2"), ("a1 NOOP\r\nA7 UID FETCH 1:* FLAGS\r\n", "A7"),
        ("DONE\r\n", nil), ("a5 APPEND INBOX {3}\r\nab\r\n", nil), ("a1 NOOP", nil), ("* NOOP\r\n", nil),
        ("+ 12\r\n", nil), ("a1 {3}\r\n", nil),
    ] as [(String, String?)])
    func aCommandLineGivesItsTag(text: String, tag: String?) {
        #expect(IMAPLines.commandTag(endingWith: ByteBuffer(string: text)) == tag.map { Array($0.utf8) })
    }

    @Test func aDrainClosesAnIdlingRelayOnBothSides() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a1 IDLE\r\n")
        try relay.sent(by: relay.upstream, "+ idling\r\n")
        relay.clientSide.closeWhenQuiet(.zero, afterAnswer: .hours(1))
        relay.loop.run()
        #expect(!relay.client.isActive)
        relay.loop.run()
        #expect(!relay.upstream.isActive)
    }
}
