@testable import IMAPServer
import NIOCore
import NIOEmbedded
import Testing

@Suite struct ProxyProtocolDecoderTests {
    static func header(command: UInt8, family: UInt8, body: [UInt8]) -> [UInt8] {
        ProxyProtocolDecoder.signature + [0x20 | command, family, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    static let ipv4Body: [UInt8] = [203, 0, 113, 7, 10, 0, 0, 1, 0xC3, 0x50, 0x03, 0xE1]
    static let ipv6Body: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1] + [UInt8](repeating: 0, count: 16) + [0, 1, 0, 2]

    static let vectors: [([UInt8], ProxyProtocolDecoder.Parse)] = [
        (header(command: 1, family: 0x11, body: ipv4Body), ProxyProtocolDecoder.Parse.header(length: 28, address: "203.0.113.7")),
        (header(command: 1, family: 0x21, body: ipv6Body), .header(length: 52, address: "2001:db8:0:0:0:0:0:1")),
        (header(command: 0, family: 0x00, body: []), .header(length: 16, address: nil)),
        (header(command: 1, family: 0x31, body: [UInt8](repeating: 0, count: 216)), .header(length: 232, address: nil)),
        (Array(header(command: 1, family: 0x11, body: ipv4Body).prefix(20)), .needMore),
        (Array(ProxyProtocolDecoder.signature.prefix(5)), .needMore),
        (Array("a1 LOGIN x y\r\n".utf8), .invalid),
        (Array("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n".utf8), .invalid),
        (ProxyProtocolDecoder.signature + [0x10, 0x11, 0, 12] + ipv4Body, .invalid),
        (header(command: 2, family: 0x11, body: ipv4Body), .invalid),
        (ProxyProtocolDecoder.signature + [0x21, 0x11, 0xFF, 0xFF], .invalid),
    ]

    @Test(arguments: vectors)
    func parses(_ bytes: [UInt8], _ expected: ProxyProtocolDecoder.Parse) {
        #expect(ProxyProtocolDecoder.parse(ByteBuffer(bytes: bytes).readableBytesView) == expected)
    }

    @Test func headerLengthBound() {
        let atLimit = ProxyProtocolDecoder.maximumHeaderLength - 16
        let body = Self.ipv4Body + [UInt8](repeating: 0, count: atLimit - Self.ipv4Body.count)
        #expect(ProxyProtocolDecoder.parse(ByteBuffer(bytes: Self.header(command: 1, family: 0x11, body: body)).readableBytesView)
            == .header(length: ProxyProtocolDecoder.maximumHeaderLength, address: "203.0.113.7"))
        let past = ProxyProtocolDecoder.signature + [0x21, 0x11, UInt8((atLimit + 1) >> 8), UInt8((atLimit + 1) & 0xFF)]
        #expect(ProxyProtocolDecoder.parse(ByteBuffer(bytes: past).readableBytesView) == .invalid)
    }

    /// What a relaying node writes is what the decoder reads back.
    @Test(arguments: ["203.0.113.7", "127.0.0.1", "2001:db8:0:0:0:0:0:1"])
    func headersARelayWritesParseBack(_ address: String) throws {
        let header = try #require(ProxyProtocolHeader.v2(clientAddress: address))
        #expect(ProxyProtocolDecoder.parse(ByteBuffer(bytes: header).readableBytesView) == .header(length: header.count, address: address))
    }

    @Test func aHeaderIsWrittenOnlyForAnIPAddress() {
        #expect(ProxyProtocolHeader.v2(clientAddress: "unknown") == nil)
        #expect(ProxyProtocolHeader.v2(clientAddress: "mail.example.com") == nil)
    }

    /// Bytes that arrive in the same read as the header (a TLS ClientHello) reach the next handler,
    /// and the decoder asks for more even when the handler behind does not.
    @Test func bytesAfterTheHeaderInOneReadGoOn() throws {
        let channel = EmbeddedChannel(handler: ProxyProtocolDecoder())
        let reads = ReadCounter()
        try channel.pipeline.syncOperations.addHandler(reads, position: .first)
        let header = try #require(ProxyProtocolHeader.v2(clientAddress: "192.0.2.1"))
        try channel.writeInbound(ByteBuffer(bytes: header + Array("hello".utf8)))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "hello"))
        #expect(reads.count >= 1)
        #expect(throws: ChannelPipelineError.self) { try channel.pipeline.syncOperations.context(handlerType: ProxyProtocolDecoder.self) }
    }
}

private final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = Never
    var count = 0

    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}
