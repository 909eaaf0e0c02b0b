@testable import Cluster
import NIOCore
import Testing

#if canImport(NIOEmbedded)
import NIOEmbedded

/// The RESP codec on an `EmbeddedChannel`: hiredis's reader behind `RESPReplyDecoder`, and
/// `redisFormatCommandArgv` behind `RESPCommandEncoder`. No socket involved.
@Suite struct RESPCodecTests {
    struct DecodeCase: Sendable, CustomTestStringConvertible {
        var wire: String
        var expected: RESPValue
        var testDescription: String { self.wire.debugDescription }
    }

    static let decodeCases: [DecodeCase] = [
        DecodeCase(wire: "+OK\r\n", expected: .simpleString("OK")),
        DecodeCase(wire: "+\r\n", expected: .simpleString("")),
        DecodeCase(wire: "-ERR unknown command 'FOO'\r\n", expected: .error("ERR unknown command 'FOO'")),
        DecodeCase(wire: "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
                   expected: .error("WRONGTYPE Operation against a key holding the wrong kind of value")),
        DecodeCase(wire: ":0\r\n", expected: .integer(0)),
        DecodeCase(wire: ":1000\r\n", expected: .integer(1000)),
        DecodeCase(wire: ":-42\r\n", expected: .integer(-42)),
        DecodeCase(wire: ":9223372036854775807\r\n", expected: .integer(.max)),
        DecodeCase(wire: "$5\r\nhello\r\n", expected: .bulkString(Array("hello".utf8))),
        DecodeCase(wire: "$0\r\n\r\n", expected: .bulkString([])),
        DecodeCase(wire: "$4\r\na\r\nb\r\n", expected: .bulkString(Array("a\r\nb".utf8))),
        DecodeCase(wire: "$-1\r\n", expected: .null),
        DecodeCase(wire: "*-1\r\n", expected: .null),
        DecodeCase(wire: "*0\r\n", expected: .array([])),
        DecodeCase(wire: "*3\r\n:1\r\n$3\r\nfoo\r\n$-1\r\n",
                   expected: .array([.integer(1), .bulkString(Array("foo".utf8)), .null])),
        DecodeCase(wire: "*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n+three\r\n",
                   expected: .array([.array([.integer(1), .integer(2)]), .array([.simpleString("three")])])),
        DecodeCase(wire: "*2\r\n-ERR inside\r\n*0\r\n", expected: .array([.error("ERR inside"), .array([])])),
        DecodeCase(wire: "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
                   expected: .array([.bulkString(Array("message".utf8)), .bulkString(Array("ch".utf8)), .bulkString(Array("hi".utf8))])),
    ]

    private static func makeDecoderChannel() -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(RESPReplyDecoder()))
    }

    @Test(arguments: Self.decodeCases)
    func decodesWholeReply(_ testCase: DecodeCase) throws {
        let channel = Self.makeDecoderChannel()
        try channel.writeInbound(ByteBuffer(string: testCase.wire))
        #expect(try channel.readInbound(as: RESPValue.self) == testCase.expected)
        #expect(try channel.readInbound(as: RESPValue.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test(arguments: Self.decodeCases)
    func decodesReplyFedByteByByte(_ testCase: DecodeCase) throws {
        let channel = Self.makeDecoderChannel()
        let bytes = Array(testCase.wire.utf8)
        for byte in bytes.dropLast() {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            #expect(try channel.readInbound(as: RESPValue.self) == nil)
        }
        try channel.writeInbound(ByteBuffer(bytes: [bytes.last!]))
        #expect(try channel.readInbound(as: RESPValue.self) == testCase.expected)
        #expect(try channel.finish().isClean)
    }

    @Test func decodesSeveralRepliesFromOneRead() throws {
        let channel = Self.makeDecoderChannel()
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n:7\r\n$-1\r\n$3\r\nab"))
        #expect(try channel.readInbound(as: RESPValue.self) == .simpleString("OK"))
        #expect(try channel.readInbound(as: RESPValue.self) == .integer(7))
        #expect(try channel.readInbound(as: RESPValue.self) == .null)
        #expect(try channel.readInbound(as: RESPValue.self) == nil)
        try channel.writeInbound(ByteBuffer(string: "c\r\n"))
        #expect(try channel.readInbound(as: RESPValue.self) == .bulkString(Array("abc".utf8)))
    }

    @Test func decodesBinaryBulkString() throws {
        let payload: [UInt8] = [0, 1, 13, 10, 255, 254, 0]
        let channel = Self.makeDecoderChannel()
        var buffer = ByteBuffer(string: "$\(payload.count)\r\n")
        buffer.writeBytes(payload)
        buffer.writeString("\r\n")
        try channel.writeInbound(buffer)
        #expect(try channel.readInbound(as: RESPValue.self) == .bulkString(payload))
    }

    @Test(arguments: ["!oops\r\n", ":12x\r\n", "$abc\r\n"])
    func rejectsMalformedInput(_ wire: String) throws {
        let channel = Self.makeDecoderChannel()
        #expect {
            try channel.writeInbound(ByteBuffer(string: wire))
        } throws: { error in
            (error as? RedisError)?.code == .protocolError
        }
    }

    struct EncodeCase: Sendable, CustomTestStringConvertible {
        var arguments: [[UInt8]]
        var wire: [UInt8]
        var testDescription: String { String(decoding: self.wire, as: UTF8.self).debugDescription }

        init(_ arguments: [String], _ wire: String) {
            self.arguments = arguments.map { Array($0.utf8) }
            self.wire = Array(wire.utf8)
        }

        init(binary arguments: [[UInt8]], _ wire: [UInt8]) {
            self.arguments = arguments
            self.wire = wire
        }
    }

    static let encodeCases: [EncodeCase] = [
        EncodeCase(["PING"], "*1\r\n$4\r\nPING\r\n"),
        EncodeCase(["SET", "k", "v"], "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"),
        EncodeCase(["SET", "k", ""], "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"),
        EncodeCase(["", ""], "*2\r\n$0\r\n\r\n$0\r\n\r\n"),
        EncodeCase(["ECHO", "a b\r\nc"], "*2\r\n$4\r\nECHO\r\n$6\r\na b\r\nc\r\n"),
        EncodeCase(["ECHO", "grüß"], "*2\r\n$4\r\nECHO\r\n$6\r\ngrüß\r\n"),
        EncodeCase(binary: [Array("SET".utf8), [0], [0, 13, 10, 255]],
                   Array("*3\r\n$3\r\nSET\r\n$1\r\n".utf8) + [0] + Array("\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n".utf8)),
    ]

    @Test(arguments: Self.encodeCases)
    func encodesCommand(_ testCase: EncodeCase) throws {
        let buffer = try RESPCommandEncoder.encode(testCase.arguments)
        #expect(Array(buffer.readableBytesView) == testCase.wire)
    }

    @Test func rejectsEmptyCommand() {
        #expect(throws: RedisError.self) {
            _ = try RESPCommandEncoder.encode([])
        }
    }

    /// A command encoded by hiredis is itself valid RESP: an array of bulk strings.
    @Test(arguments: Self.encodeCases)
    func encodedCommandDecodesAsArrayOfBulkStrings(_ testCase: EncodeCase) throws {
        let channel = Self.makeDecoderChannel()
        try channel.writeInbound(RESPCommandEncoder.encode(testCase.arguments))
        #expect(try channel.readInbound(as: RESPValue.self) == .array(testCase.arguments.map(RESPValue.bulkString)))
    }
}
#else
import Testing

@Test func respCodecTestsNeedNIOEmbedded() {
    Issue.record("NIOEmbedded is not importable: add .product(name: \"NIOEmbedded\", package: \"swift-nio\") to the ClusterTests dependencies")
}
#endif
