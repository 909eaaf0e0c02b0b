import NIOCore
import SMTPGrammar

/// Whole replies from a server's byte stream (the smart host), read with the grammar's bounded
/// reply parser.
struct SMTPClientReplyReader {
    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "the connection closed mid-reply" }
    }

    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var parser = SMTPReplyParser()
    private var buffer = ByteBuffer()

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
        self.iterator = iterator
    }

    var hasBufferedBytes: Bool { buffer.readableBytes > 0 }

    mutating func next() async throws -> SMTPReply {
        while true {
            if let reply = try parser.parse(&buffer) { return reply }
            guard var more = try await iterator.next() else { throw ConnectionClosed() }
            buffer.writeBuffer(&more)
        }
    }
}
