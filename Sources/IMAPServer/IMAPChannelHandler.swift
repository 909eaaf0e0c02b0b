import IMAPGrammar
import NIOCore
import NIOSSL

/// What the session loop receives: parsed input (one item per request), or news from elsewhere.
enum SessionEvent: Sendable {
    case input(ParseResult)
    case closed
    /// A change in the grant's mailboxes announced by any node (`folderID` nil: grant-wide).
    case mailboxChanged(folderID: String?, modseq: Int64?)
    /// The grant's credentials changed: the session must end.
    case credentialsChanged
    case tick
    /// The node is draining: say BYE so that the client reconnects elsewhere.
    case shutdown
}

/// The bytes-to-commands end of an IMAP connection.
///
/// Parsing is lazy: the session asks for one item at a time (`requestNext`), and only then does
/// the handler parse what it holds or read more from the socket (the channel runs with
/// `autoRead` off). So a parser mode set by the session (IDLE, AUTHENTICATE) applies to the very
/// next bytes, a slow session never has unbounded input queued up, and bytes that follow a
/// STARTTLS command are never parsed: `startTLS` drops them (RFC 9051 11.1, CVE-2011-0411).
///
/// It also sees every write on its way out, to know when the connection has gone quiet: after
/// `releaseAfter` without a byte either way, it gives its TLS buffers' pages back (`pages`).
final class IMAPChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private var parser: CommandParser
    private var buffer = ByteBuffer()
    private var wantsItem = false
    private var isInactive = false
    private var context: ChannelHandlerContext?
    private let events: SessionInbox
    private let pages: ConnectionPages?
    private let releaseAfter: TimeAmount

    init(limits: IMAPLimits, events: SessionInbox, pages: ConnectionPages? = nil, releaseAfter: TimeAmount = .seconds(1)) {
        parser = CommandParser(limits: limits)
        self.events = events
        self.pages = pages
        self.releaseAfter = releaseAfter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        IMAPMetrics.bytesIn.increment(by: Int64(bytes.readableBytes))
        buffer.writeBuffer(&bytes)
        quietSince = nil
        if wantsItem { deliver() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // What the session writes while the client is quiet (an IDLE push) touches the pages again.
        if quietSince != nil { becameQuiet() }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        // TLS encrypts on flush: a record buffer it replaces then (its old one still queued at
        // the socket) is the connection's too.
        if let pages { pages.attributing { context.flush() } } else { context.flush() }
    }

    func channelActive(context: ChannelHandlerContext) {
        // A read asked for before the socket was active went nowhere: ask again.
        if wantsItem { context.read() }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isInactive = true
        if wantsItem { deliver() }
        context.fireChannelInactive()
    }

    /// The client's address as a load balancer reported it (PROXY protocol), when it did.
    private(set) var proxiedAddress: String?

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let proxied = event as? ProxiedClientAddress { proxiedAddress = proxied.address }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TLS failure or a reset: nothing to tell the client; the session sees the close.
        context.close(promise: nil)
    }

    /// Asks for the next parsed item, in `mode` when given. Event loop only.
    func requestNext(mode: CommandParser.Mode?) {
        if let mode { parser.mode = mode }
        wantsItem = true
        deliver()
    }

    private func deliver() {
        let result = parser.parse(&buffer)
        if case .needsMoreData = result {
            if parser.isWithinCommand || buffer.readableBytes > 0 {
                acknowledgePromptly()
            } else if !isInactive {
                becameQuiet()
            }
            if buffer.readerIndex > 16 * 1024 { buffer.discardReadBytes() }
            if isInactive {
                wantsItem = false
                events.yield(.closed)
            } else {
                context?.read()
            }
            return
        }
        wantsItem = false
        events.yield(.input(result))
    }

    /// Acknowledges what arrived at once instead of after the kernel's delayed-ACK timer (40 ms).
    /// A client that leaves Nagle's algorithm on (Python's imaplib among them) sends the CRLF
    /// that ends an APPEND only once its literal is acknowledged, and the literal alone asks no
    /// answer of us: every APPEND then waited 40 ms (measured: 48 ms at p50 instead of 3.7 ms).
    /// Only a command that arrived in part asks for this, so whole commands cost no system call.
    /// (Setting TCP_QUICKACK sends an acknowledgement that is due at once, and leaves the
    /// connection acknowledging promptly until the kernel next chooses to delay.)
    private func acknowledgePromptly() {
        #if os(Linux)
        let tcpQuickAck: CInt = 12  // <netinet/tcp.h>, which Glibc's module leaves out
        guard let options = context?.channel.syncOptions else { return }
        try? options.setOption(ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: tcpQuickAck)),
                               value: 1)
        #endif
    }

    // MARK: - Giving pages back while the client is quiet

    /// Since when the handler has waited for a new command with nothing in hand, and nothing was
    /// written; nil while input is being taken.
    private var quietSince: NIODeadline?
    private var releaseTimerArmed = false
    /// The pages were given back since the connection went quiet.
    private var released = false

    private func becameQuiet() {
        guard pages != nil else { return }
        quietSince = .now()
        released = false
        armReleaseTimer()
    }

    /// One timer per connection at most: activity moves `quietSince`, and a timer that fires
    /// early waits again for the rest, so a busy connection schedules one timer per
    /// `releaseAfter`, not one per command.
    private func armReleaseTimer(at deadline: NIODeadline? = nil) {
        guard !releaseTimerArmed, let context, let quietSince else { return }
        releaseTimerArmed = true
        context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline ?? quietSince + releaseAfter) {
            self.releaseTimerFired()
        }
    }

    private func releaseTimerFired() {
        releaseTimerArmed = false
        guard let pages, let context, !isInactive, let quietSince, !released else { return }
        let due = quietSince + releaseAfter
        guard NIODeadline.now() >= due else { return armReleaseTimer(at: due) }
        // The TLS buffers' bytes are dead only once the socket took all that was written: a
        // client that does not read keeps its pages until it does.
        let unsent = (try? context.channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? nil
        guard unsent == 0 else { return armReleaseTimer(at: .now() + releaseAfter) }
        released = true
        if pages.release() > 0 { IMAPMetrics.quietReleases.increment() }
    }

    /// Turns the connection into TLS after the session wrote its `OK` to STARTTLS. Everything
    /// the client sent after the command is discarded unparsed. Event loop only.
    func startTLS(context sslContext: NIOSSLContext) throws {
        guard let context else { return }
        parser.reset()
        buffer.clear()
        let tls = NIOSSLServerHandler(context: sslContext)
        let add = { try context.pipeline.syncOperations.addHandler(tls, position: .first) }
        if let pages { try pages.attributing(add) } else { try add() }
    }

    /// Puts COMPRESS=DEFLATE between TLS and this handler. Bytes the client sent after the
    /// command can only be compressed ones (it waits for the `OK`), so they go to the inflater.
    /// Event loop only.
    func startCompression() throws {
        guard let context else { return }
        let deflate = try DeflateHandler()
        deflate.takeEarly(buffer)
        buffer.clear()
        parser.reset()
        try context.pipeline.syncOperations.addHandler(deflate, position: .before(self))
    }

    /// Hands the connection over to a byte relay (cross-region proxying): removes this handler
    /// and returns what the client already sent but the session has not parsed. Event loop only.
    func handOff() -> ByteBuffer {
        let rest = buffer
        buffer = ByteBuffer()
        wantsItem = false
        if let context { context.pipeline.syncOperations.removeHandler(self, promise: nil) }
        return rest
    }

    /// Drops a synchronizing literal the session refused. Event loop only.
    func rejectPendingLiteral() -> Bool {
        parser.rejectPendingLiteral()
    }
}
