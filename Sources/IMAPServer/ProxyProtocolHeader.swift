import NIOCore

/// Writes the HAProxy PROXY protocol v2 header (proxy-protocol.txt section 2.2) that a relaying
/// node sends first inside its TLS connection to the cluster IMAP listener, so that the home node
/// throttles and logs by the real client's address rather than the relay's. Ports are not
/// known to the session and are sent as 0.
enum ProxyProtocolHeader {
    /// LOCAL: no address to pass on (the listener then keeps the connection's own).
    static let local = ProxyProtocolDecoder.signature + [0x20, 0x00, 0x00, 0x00]

    /// The header for a client at `address` (dotted IPv4 or IPv6 text); nil for anything else.
    static func v2(clientAddress address: String) -> [UInt8]? {
        guard let socket = try? SocketAddress(ipAddress: address, port: 0) else { return nil }
        var header = ProxyProtocolDecoder.signature
        header.append(0x21)  // version 2, PROXY
        switch socket {
        case .v4(let v4):
            header += [0x11, 0x00, 12]  // TCP over IPv4, 12 address bytes
            header += withUnsafeBytes(of: v4.address.sin_addr.s_addr) { Array($0) }
            header += [0, 0, 0, 0, 0, 0, 0, 0]  // destination address, source and destination ports
        case .v6(let v6):
            header += [0x21, 0x00, 36]  // TCP over IPv6, 36 address bytes
            header += withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            header += [UInt8](repeating: 0, count: 20)
        default:
            return nil
        }
        return header
    }
}

/// Sends a PROXY protocol header as the connection's first bytes (of the TLS stream, when it
/// stands behind the TLS handler, which holds the write until its handshake is done), then
/// removes itself.
final class ProxyProtocolHeaderWriter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let header: [UInt8]

    init(header: [UInt8]) {
        self.header = header
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: header)), promise: nil)
        context.fireChannelActive()
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    typealias OutboundOut = ByteBuffer
}
