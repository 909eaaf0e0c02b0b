import NIOCore

/// The inbound half of the RESP codec: bytes from the server in, one ``RESPValue`` per reply out.
///
/// The parsing itself is hiredis's (see ``RESPReplyReader``); this decoder only moves bytes from
/// NIO's buffer into the reader, so it works unchanged however the network slices the stream.
struct RESPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private let reader = RESPReplyReader()

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try buffer.withUnsafeReadableBytes { bytes in
            try self.reader.feed(bytes)
        }
        // hiredis copied the bytes into its own buffer, incomplete tail included.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        while let reply = try self.reader.nextReply() {
            context.fireChannelRead(Self.wrapInboundOut(reply))
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A reply cut off by the end of the stream is simply lost: the command handler fails the
        // commands still waiting when the channel goes inactive.
        try self.decode(context: context, buffer: &buffer)
    }
}
