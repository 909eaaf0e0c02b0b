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
        relay.clientSide.closeWhenQuiet(.hours(1))
        relay.loop.advanceTime(by: .minutes(30))
        #expect(relay.client.isActive)
        #expect(relay.upstream.isActive)
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
