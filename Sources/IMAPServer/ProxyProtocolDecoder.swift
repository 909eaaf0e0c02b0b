import NIOCore

/// The client address a load balancer reported through the PROXY protocol.
struct ProxiedClientAddress: Sendable, Equatable {
    let address: String
}

/// Reads the HAProxy PROXY protocol version 2 header that a load balancer sends before anything
/// else on a connection, passes the real client address on as a user event, and removes itself.
/// Anything other than a well-formed v2 header closes the connection: on a listener configured
/// for the protocol, a client talking directly could otherwise claim any address.
///
/// Header (proxy-protocol.txt section 2.2): 12-byte signature, version/command byte, family byte,
/// 2-byte length, then the addresses (IPv4: 4+4+2+2 bytes, IPv6: 16+16+2+2).
final class ProxyProtocolDecoder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// The longest header we accept: 16 bytes of fixed part plus the address block, with room
    /// for TLVs a balancer may add (which are skipped).
    static let maximumHeaderLength = 16 + 1024

    enum Parse: Equatable {
        case needMore
        case invalid
        /// The header's length, and the client address (nil for LOCAL, a health check).
        case header(length: Int, address: String?)
    }

    private var buffer = ByteBuffer()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        switch Self.parse(buffer.readableBytesView) {
        case .needMore:
            if buffer.readableBytes > Self.maximumHeaderLength { context.close(promise: nil) } else { context.read() }
        case .invalid:
            context.close(promise: nil)
        case .header(let length, let address):
            buffer.moveReaderIndex(forwardBy: length)
            if let address { context.fireUserInboundEventTriggered(ProxiedClientAddress(address: address)) }
            let rest = buffer
            buffer = ByteBuffer()
            // What came with the header (a TLS ClientHello, a pipelined command) goes on before
            // this handler leaves the pipeline, which unlinks its context. The handler behind may
            // be TLS, which reads only when asked and is not asked before its handshake: one
            // more read brings what follows.
            if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
            context.read()
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        // The header comes before the protocol's first byte: read it whatever the next handler wants.
        context.read()
        context.fireChannelActive()
    }

    static func parse(_ bytes: ByteBufferView) -> Parse {
        let header = Array(bytes.prefix(16))
        for (index, byte) in header.enumerated() where index < signature.count && byte != signature[index] { return .invalid }
        guard header.count == 16 else { return .needMore }
        guard header[12] >> 4 == 2 else { return .invalid }
        let command = header[12] & 0x0F
        let length = Int(header[14]) << 8 | Int(header[15])
        guard 16 + length <= maximumHeaderLength else { return .invalid }
        guard bytes.count >= 16 + length else { return .needMore }
        let body = Array(bytes.dropFirst(16).prefix(length))
        switch command {
        case 0x0:
            return .header(length: 16 + length, address: nil)
        case 0x1:
            switch header[13] >> 4 {
            case 0x1 where body.count >= 12:
                return .header(length: 16 + length, address: body[0..<4].map(String.init).joined(separator: "."))
            case 0x2 where body.count >= 36:
                let groups = stride(from: 0, to: 16, by: 2).map { String(UInt16(body[$0]) << 8 | UInt16(body[$0 + 1]), radix: 16) }
                return .header(length: 16 + length, address: groups.joined(separator: ":"))
            default:
                // UNIX sockets or unknown families carry no IP address: keep the balancer's.
                return .header(length: 16 + length, address: nil)
            }
        default:
            return .invalid
        }
    }
}
