import NIOCore
import NIOSSL
import SMTPGrammar

/// What an SMTP session receives from its connection, one item per request.
enum SMTPInput: Sendable {
    /// A command line without its line break.
    case line([UInt8])
    /// A command line longer than its limit; its bytes were dropped up to the line break.
    case lineTooLong
    /// Message bytes, as they came (DATA and BDAT content).
    case bytes(ByteBuffer)
    case closed
}

/// What the session loop waits on: input, or news from the node.
enum SMTPSessionEvent: Sendable {
    case input(SMTPInput)
    case tick
    /// The node is draining: finish the transaction in flight, then say 421.
    case shutdown
}

/// The bytes end of an SMTP connection. Like the IMAP handler, it reads only when the session
/// asks for the next item (`autoRead` off): a pipelining client cannot queue up unbounded input,
/// and the bytes after STARTTLS are never read as commands (RFC 3207 5, CVE-2011-0411).
final class SMTPChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    enum Request {
        /// The next line, bounded as `SMTPLimits` says for the mode.
        case line(SMTPLineReader.Mode)
        /// Whatever bytes are there, at most `maximum` (at least one, unless closed).
        case bytes(maximum: Int)
    }

    private var buffer = ByteBuffer()
    private var request: Request?
    private var isInactive = false
    private var lines: SMTPLineReader
    private var context: ChannelHandlerContext?
    private let events: AsyncStream<SMTPSessionEvent>.Continuation

    init(limits: SMTPLimits, events: AsyncStream<SMTPSessionEvent>.Continuation) {
        lines = SMTPLineReader(limits: limits)
        self.events = events
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        if request != nil { deliver() }
    }

    func channelActive(context: ChannelHandlerContext) {
        if request != nil { context.read() }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isInactive = true
        if request != nil { deliver() }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Event loop only.
    func requestNext(_ next: Request) {
        request = next
        deliver()
    }

    private func deliver() {
        guard let request else { return }
        switch request {
        case .line(let mode):
            lines.mode = mode
            switch lines.next(&buffer) {
            case .line(let line):
                self.request = nil
                events.yield(.input(.line(Array(line.readableBytesView))))
                return
            case .lineTooLong:
                self.request = nil
                events.yield(.input(.lineTooLong))
                return
            case .needsMoreData:
                break
            }
        case .bytes(let maximum):
            if buffer.readableBytes > 0 {
                let count = min(maximum, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                self.request = nil
                events.yield(.input(.bytes(slice)))
                if buffer.readableBytes == 0 { buffer.clear() }
                return
            }
        }
        if isInactive {
            self.request = nil
            events.yield(.input(.closed))
        } else {
            if buffer.readerIndex > 16 * 1024 { buffer.discardReadBytes() }
            context?.read()
        }
    }

    /// Turns the connection into TLS after the session wrote its 220 to STARTTLS; whatever the
    /// client sent after the command is dropped. Event loop only.
    func startTLS(context sslContext: NIOSSLContext) throws {
        guard let context else { return }
        buffer.clear()
        lines = SMTPLineReader(limits: lines.limits)
        try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext), position: .first)
    }

    /// Whether the client sent more after the current command (for STARTTLS: it must not have).
    var hasBufferedInput: Bool { buffer.readableBytes > 0 }

    /// Gives back bytes the session read past the end of message data (pipelined commands). Event loop only.
    func pushBack(_ bytes: ByteBuffer) {
        var rest = bytes
        rest.writeBuffer(&buffer)
        buffer = rest
    }
}
