import NIOCore
import NIOSSL

/// The session's handle on its channel: writes replies, asks the handler for the next item,
/// switches to TLS. Handler calls hop to the event loop.
struct SMTPConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<SMTPChannelHandler>
    let remoteAddress: String
    let isTLS: Bool

    func requestNext(_ request: SMTPChannelHandler.Request) {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.requestNext(request) }
    }

    func pushBack(_ bytes: ByteBuffer) async {
        let handler = self.handler
        try? await channel.eventLoop.submit { handler.value.pushBack(bytes) }.get()
    }

    func write(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes)
    }

    /// Whether the client pipelined anything after the command just read.
    func hasBufferedInput() async -> Bool {
        let handler = self.handler
        return (try? await channel.eventLoop.submit { handler.value.hasBufferedInput }.get()) ?? false
    }

    /// Writes the 220 to STARTTLS, then puts TLS in front of everything that follows.
    func startTLS(reply buffer: ByteBuffer, context: NIOSSLContext) async throws {
        let handler = self.handler
        try await channel.eventLoop.flatSubmit { [channel] in
            channel.writeAndFlush(buffer).flatMapThrowing {
                try handler.value.startTLS(context: context)
            }
        }.get()
    }

    func close() async {
        try? await channel.close()
    }
}
