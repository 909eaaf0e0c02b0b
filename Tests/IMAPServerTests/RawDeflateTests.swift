import NIOCore
import Testing

@testable import IMAPServer

/// The raw DEFLATE streams of COMPRESS=DEFLATE (RFC 4978): what one side deflates the other
/// inflates, flushed per write, bounded per read.
struct RawDeflateTests {
    let allocator = ByteBufferAllocator()

    func deflate(_ deflater: RawDeflateStream, _ text: String) throws -> ByteBuffer {
        var input = ByteBuffer(string: text)
        return try deflater.deflate(&input, allocator: allocator)
    }

    @Test func eachWriteInflatesWholeOnTheOtherSide() throws {
        let deflater = try RawDeflateStream(.deflate)
        let inflater = try RawDeflateStream(.inflate)
        for line in ["* OK first\r\n", "* 1 FETCH (FLAGS (\\Seen))\r\n", String(repeating: "body text ", count: 5_000) + "\r\n"] {
            var compressed = try deflate(deflater, line)
            let plain = try inflater.inflate(&compressed, limit: 1 << 20, allocator: allocator)
            #expect(String(buffer: plain) == line)
            #expect(compressed.readableBytes == 0)
        }
    }

    @Test("inflating stops at the limit and resumes with what is left")
    func inflateIsBounded() throws {
        let deflater = try RawDeflateStream(.deflate)
        let inflater = try RawDeflateStream(.inflate)
        let text = String(repeating: "a", count: 300_000)
        var compressed = try deflate(deflater, text)
        #expect(compressed.readableBytes < 5_000)
        var out = ""
        var rounds = 0
        while compressed.readableBytes > 0 {
            let chunk = try inflater.inflate(&compressed, limit: 64 * 1024, allocator: allocator)
            #expect(chunk.readableBytes <= 64 * 1024)
            out += String(buffer: chunk)
            rounds += 1
        }
        #expect(out == text)
        #expect(rounds >= 5)
    }

    @Test func aCorruptStreamIsAnError() throws {
        let inflater = try RawDeflateStream(.inflate)
        var garbage = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x13])
        #expect(throws: RawDeflateStream.StreamError.self) {
            _ = try inflater.inflate(&garbage, limit: 1024, allocator: allocator)
        }
    }

    @Test("a stream the client ends (Z_FINISH) gives its last bytes; more input after it is an error")
    func finishedStream() throws {
        let inflater = try RawDeflateStream(.inflate)
        // "a LOGOUT\r\n", deflated and finished.
        var finished = ByteBuffer(bytes: [75, 84, 240, 241, 119, 247, 15, 13, 225, 229, 2, 0])
        let plain = try inflater.inflate(&finished, limit: 1024, allocator: allocator)
        #expect(String(buffer: plain) == "a LOGOUT\r\n")
        #expect(inflater.ended)
        var more = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: RawDeflateStream.StreamError.self) { _ = try inflater.inflate(&more, limit: 1024, allocator: allocator) }
    }

    @Test("output held back at a limit comes out without more input (Z_PARTIAL_FLUSH clients)")
    func heldOutput() throws {
        let inflater = try RawDeflateStream(.inflate)
        // 200,000 "x", deflated with a partial flush: the input runs out as a back-reference still copies.
        var compressed = ByteBuffer(bytes: [236, 193, 49, 1, 0, 0, 0, 194, 160, 218, 139, 111, 6, 127, 160, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 215, 4])
        var total = 0
        while compressed.readableBytes > 0 || inflater.mayHoldOutput {
            let chunk = try inflater.inflate(&compressed, limit: 64 * 1024, allocator: allocator)
            #expect(chunk.readableBytesView.allSatisfy { $0 == UInt8(ascii: "x") })
            total += chunk.readableBytes
            if chunk.readableBytes == 0 { break }
        }
        #expect(total == 200_000)
    }
}
