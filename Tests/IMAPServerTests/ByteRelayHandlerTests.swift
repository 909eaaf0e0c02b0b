@testable import IMAPServer
import NIOCore
import NIOEmbedded
import Testing

/// The two halves of a relayed connection: bytes cross unchanged, either side's close closes the
/// other, and a drain closes the relay only once it has been quiet.
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

    @Test func aDrainWaitsWhileTheRelayIsBusy() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a1 IDLE\r\n")
        relay.clientSide.closeWhenQuiet(.hours(1), afterAnswer: .hours(1))
        relay.loop.advanceTime(by: .minutes(30))
        #expect(relay.client.isActive)
        #expect(relay.upstream.isActive)
    }

    @Test func aDrainClosesABusyRelayRightAfterAnAnswer() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a1 NOOP\r\n")
        relay.clientSide.closeWhenQuiet(.hours(1), afterAnswer: .zero)
        relay.loop.run()
        // The command is still being answered: the relay waits.
        #expect(relay.client.isActive)
        try relay.sent(by: relay.upstream, "* 3 EXISTS\r\n")
        relay.loop.advanceTime(by: .milliseconds(10))
        #expect(relay.client.isActive)
        try relay.sent(by: relay.upstream, "a1 OK NOOP completed\r\n")
        relay.loop.advanceTime(by: .milliseconds(10))
        #expect(!relay.client.isActive)
    }

    @Test func aCommandSentAfterTheAnswerKeepsTheRelayOpen() throws {
        let relay = try Relay()
        try relay.sent(by: relay.upstream, "a1 OK done\r\n")
        try relay.sent(by: relay.client, "a2 NOOP\r\n")
        relay.clientSide.closeWhenQuiet(.hours(1), afterAnswer: .zero)
        relay.loop.advanceTime(by: .seconds(1))
        #expect(relay.client.isActive)
    }

    @Test(arguments: [
        ("a1 OK done\r\n", true), ("A0001 NO [TRYCREATE] no such mailbox\r\n", true), ("x.9 BAD\r\n", true),
        ("* 1 EXISTS\r\na1 OK NOOP completed\r\n", true),
        ("* OK still here\r\n", false), ("+ idling\r\n", false), ("a1 OK done", false), ("a1 OKAY\r\n", false),
        ("* 1 FETCH (BODY[] {5}\r\nhello)\r\n", false), ("a1 FETCH 1 BODY[]\r\n", false), ("\r\n", false),
        (" OK\r\n", false),
    ])
    func theEndOfAnAnswerIsATaggedLine(text: String, ends: Bool) {
        #expect(ByteRelayHandler.endsTaggedResponse(ByteBuffer(string: text)) == ends)
    }

    @Test func aDrainClosesAQuietRelayOnBothSides() throws {
        let relay = try Relay()
        try relay.sent(by: relay.client, "a1 IDLE\r\n")
        relay.clientSide.closeWhenQuiet(.zero)
        relay.loop.run()
        #expect(!relay.client.isActive)
        relay.loop.run()
        #expect(!relay.upstream.isActive)
    }
}
