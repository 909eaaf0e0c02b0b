import IMAPGrammar
import NIOCore
import NIOSSL

/// The session's handle on its channel: writes responses, asks the handler for the next parsed
/// item, switches to TLS. Safe to use from the session task; handler calls hop to the event loop.
struct IMAPConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<IMAPChannelHandler>
    let remoteAddress: String
    let isTLS: Bool

    /// The client's address: the one a load balancer reported through the PROXY protocol, or the peer's.
    func clientAddress() async -> String {
        let handler = self.handler
        let proxied = try? await channel.eventLoop.submit { handler.value.proxiedAddress }.get()
        return (proxied ?? nil) ?? remoteAddress
    }

    func requestNext(mode: CommandParser.Mode? = nil) {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.requestNext(mode: mode) }
    }

    func write(_ responses: [Response], encoder: ResponseEncoder) async throws {
        var buffer = channel.allocator.buffer(capacity: 256)
        for response in responses { encoder.encode(response, into: &buffer) }
        IMAPMetrics.bytesOut.increment(by: Int64(buffer.readableBytes))
        try await channel.writeAndFlush(buffer)
    }

    func write(_ response: Response, encoder: ResponseEncoder) async throws {
        try await write([response], encoder: encoder)
    }

    /// Writes the `OK` to STARTTLS, then puts TLS in front of everything that follows.
    func startTLS(ok: Response, encoder: ResponseEncoder, context: NIOSSLContext) async throws {
        let buffer = encoder.encode(ok)
        let handler = self.handler
        try await channel.eventLoop.flatSubmit { [channel] in
            channel.writeAndFlush(buffer).flatMapThrowing {
                try handler.value.startTLS(context: context)
            }
        }.get()
    }

    /// Writes the `OK` to COMPRESS, then compresses everything that follows both ways. The
    /// handler goes in on the event loop right after the `OK` passed on its way out, so that
    /// nothing written later escapes it.
    func startCompression(ok: Response, encoder: ResponseEncoder) async throws {
        let buffer = encoder.encode(ok)
        let handler = self.handler
        try await channel.eventLoop.flatSubmit { [channel] () -> EventLoopFuture<Void> in
            let written = channel.writeAndFlush(buffer)
            do {
                try handler.value.startCompression()
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            return written
        }.get()
    }

    /// Splices this client connection to an authenticated upstream session: from now on bytes
    /// flow unchanged both ways until either side closes.
    /// Returns the client's side of the relay.
    @discardableResult
    func splice(to upstream: any Channel) async throws -> ByteRelayHandler {
        let handler = self.handler
        let (clientSide, upstreamSide) = ByteRelayHandler.pair(channel.eventLoop, upstream.eventLoop)
        try await upstream.eventLoop.submit {
            try upstream.pipeline.syncOperations.addHandler(upstreamSide)
        }.get()
        let leftover = try await channel.eventLoop.submit { [channel] in
            let rest = handler.value.handOff()
            try channel.pipeline.syncOperations.addHandler(clientSide)
            return rest
        }.get()
        if leftover.readableBytes > 0 { try await upstream.writeAndFlush(leftover) }
        try await upstream.setOption(ChannelOptions.autoRead, value: true).get()
        try await channel.setOption(ChannelOptions.autoRead, value: true).get()
        channel.read()
        return clientSide
    }

    func rejectPendingLiteral() async -> Bool {
        let handler = self.handler
        return (try? await channel.eventLoop.submit { handler.value.rejectPendingLiteral() }.get()) ?? false
    }

    /// Waits until the connection is closed (by either end).
    func whenClosed(_ callback: @escaping @Sendable () -> Void) {
        channel.closeFuture.whenComplete { _ in callback() }
    }

    func close() async {
        try? await channel.close()
    }
}
