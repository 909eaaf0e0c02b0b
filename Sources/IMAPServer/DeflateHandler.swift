import NIOCore

/// COMPRESS=DEFLATE (RFC 4978) on a connection: sits between TLS and the IMAP handler, inflating
/// what the client sends and deflating what the server writes, each write flushed whole.
///
/// Reading keeps the IMAP handler's back-pressure: compressed bytes are inflated at most
/// `chunkLimit` at a time, and the rest only when the IMAP handler asks for more (`read`), so a
/// small compressed read that expands enormously is never held in memory at once.
final class DeflateHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let chunkLimit = 64 * 1024

    private let deflater: RawDeflateStream
    private let inflater: RawDeflateStream
    private var pending = ByteBuffer()
    private var failed = false

    init() throws {
        deflater = try RawDeflateStream(.deflate)
        inflater = try RawDeflateStream(.inflate)
    }

    /// Bytes that reached the IMAP handler before this one was in place: compressed ones, read
    /// before anything that arrives later.
    func takeEarly(_ bytes: ByteBuffer) {
        var bytes = bytes
        pending.writeBuffer(&bytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        IMAPMetrics.compressedBytesIn.increment(by: Int64(bytes.readableBytes))
        pending.writeBuffer(&bytes)
        deliver(context: context)
    }

    func read(context: ChannelHandlerContext) {
        if hasInput {
            deliver(context: context)
        } else {
            context.read()
        }
    }

    private var hasInput: Bool { pending.readableBytes > 0 || inflater.mayHoldOutput }
    /// Set while a chunk is being handed on: a read asked for meanwhile is served by the loop in
    /// `deliver`, not by a nested call (one level per chunk otherwise).
    private var delivering = false
    private var readWanted = false

    private func deliver(context: ChannelHandlerContext) {
        guard !delivering else { readWanted = true; return }
        delivering = true
        defer { delivering = false }
        repeat {
            readWanted = false
            guard !failed, hasInput else { break }
            do {
                let plain = try inflater.inflate(&pending, limit: Self.chunkLimit, allocator: context.channel.allocator)
                if pending.readableBytes == 0 { pending.clear() }
                if plain.readableBytes > 0 {
                    context.fireChannelRead(wrapInboundOut(plain))
                } else {
                    // Too little of a block to give anything yet.
                    readWanted = true
                }
            } catch {
                failed = true
                context.fireErrorCaught(error)
                return
            }
        } while readWanted && hasInput
        if readWanted, !failed { context.read() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var plain = unwrapOutboundIn(data)
        do {
            let compressed = try deflater.deflate(&plain, allocator: context.channel.allocator)
            IMAPMetrics.compressedBytesOut.increment(by: Int64(compressed.readableBytes))
            context.write(wrapOutboundOut(compressed), promise: promise)
        } catch {
            promise?.fail(error)
            context.fireErrorCaught(error)
        }
    }
}
