import NIOCore
import Testing
@testable import SMTPGrammar

/// BDAT chunks (RFC 3030).
@Suite("BDAT decoder")
struct BDATDecoderTests {
    /// Runs `chunks` (size, last, octets) through one decoder, feeding `input` split at
    /// `offsets`; returns the content of each message and the summaries of chunk ends.
    func run(_ plan: [(size: Int, last: Bool)], input: [UInt8], offsets: [Int] = [], limits: SMTPLimits = .default,
             discardFromChunk: Int? = nil) -> (messages: [[UInt8]], ends: [(Bool, SMTPMessageSummary)], leftover: [UInt8]) {
        var decoder = BDATDecoder(limits: limits)
        var pieces = split(input, at: offsets)[...]
        var buffer = ByteBuffer(bytes: pieces.popFirst() ?? [])
        var messages: [[UInt8]] = [[]]
        var ends: [(Bool, SMTPMessageSummary)] = []
        for (index, chunk) in plan.enumerated() {
            decoder.beginChunk(size: chunk.size, last: chunk.last)
            if index == discardFromChunk { decoder.discardMessage() }
            #expect(decoder.isReadingChunk)
            reading: while true {
                switch decoder.next(&buffer) {
                case .content(let content):
                    messages[messages.count - 1] += Array(content.readableBytesView)
                case .needsMoreData:
                    #expect(buffer.readableBytes == 0)
                    guard let next = pieces.popFirst() else { return (messages, ends, []) }
                    buffer.writeBytes(next)
                case .chunkEnd(let last, let summary):
                    ends.append((last, summary))
                    if last { messages.append([]) }
                    break reading
                }
            }
            #expect(!decoder.isReadingChunk)
        }
        var leftover = Array(buffer.readableBytesView)
        for piece in pieces { leftover += piece }
        return (messages, ends, leftover)
    }

    /// RFC 3030 section 4.1: one chunk of 86 octets.
    static let simpleMessage = Array((
        "To: Susan@random.com\r\n"
        + "From: Sam@random.com\r\n"
        + "Subject: This is a bodyless test message\r\n"
    ).utf8)

    @Test func rfc3030SimpleChunking() {
        #expect(Self.simpleMessage.count == 86)
        let input = Self.simpleMessage + Array("QUIT\r\n".utf8)
        for offset in 0...input.count {
            let result = run([(86, true)], input: input, offsets: [offset])
            #expect(result.messages.first == Self.simpleMessage)
            #expect(result.ends.map(\.0) == [true])
            #expect(result.ends.first?.1 == SMTPMessageSummary(byteCount: 86))
            #expect(result.leftover == Array("QUIT\r\n".utf8))
        }
    }

    @Test func rfc3030PipelinedBinaryChunks() {
        // RFC 3030 section 4.2: BINARYMIME content in several chunks, the last one empty.
        let first: [UInt8] = [0x00, 0xFF, 0x0D, 0x2E, 0x0D, 0x0A, 0x2E, 0x0D, 0x0A]
        let second: [UInt8] = Array(0...255)
        let input = first + second + Array("RSET\r\n".utf8)
        let plan: [(size: Int, last: Bool)] = [(first.count, false), (second.count, false), (0, true)]
        for offset in stride(from: 0, through: input.count, by: 7) {
            let result = run(plan, input: input, offsets: [offset])
            // No dot-stuffing and no terminator: the octets are the content.
            #expect(result.messages.first == first + second)
            #expect(result.ends.map(\.0) == [false, false, true])
            #expect(result.ends.last?.1.byteCount == first.count + second.count)
            #expect(result.ends.last?.1.hasEightBitData == true)
            #expect(result.ends.last?.1.hasBareCarriageReturn == true)
            #expect(result.leftover == Array("RSET\r\n".utf8))
        }
    }

    @Test func lastChunkStartsANewMessage() {
        let result = run([(3, true), (2, true)], input: Array("abcde".utf8))
        #expect(result.messages == [Array("abc".utf8), Array("de".utf8), []])
        #expect(result.ends.map(\.1.byteCount) == [3, 2])
    }

    @Test func discardedMessageIsDrainedNotHandedOut() {
        let result = run([(3, false), (4, true)], input: Array("abcdefgNOOP\r\n".utf8), discardFromChunk: 0)
        #expect(result.messages == [[], []])
        #expect(result.ends.map(\.1.byteCount) == [3, 7])
        #expect(result.leftover == Array("NOOP\r\n".utf8))
    }

    @Test func hugeChunkPastTheMaximumIsDrained() {
        let limits = SMTPLimits(maxMessageSize: 100)
        let octets = Array(repeating: UInt8(ascii: "x"), count: 100_000)
        let offsets = Array(stride(from: 0, to: octets.count, by: 4_096))
        let result = run([(100_000, true)], input: octets + Array("QUIT\r\n".utf8), offsets: offsets, limits: limits)
        #expect(result.messages.first?.count ?? 0 <= 100)
        #expect(result.ends.first?.1.exceedsMaximumSize == true)
        #expect(result.ends.first?.1.byteCount == 100_000)
        #expect(result.leftover == Array("QUIT\r\n".utf8))
    }

    @Test func resetForgetsTheMessage() {
        var decoder = BDATDecoder()
        var buffer = ByteBuffer(string: "abcxy")
        decoder.beginChunk(size: 3, last: false)
        _ = decoder.next(&buffer)
        #expect(decoder.next(&buffer) == .chunkEnd(last: false, summary: SMTPMessageSummary(byteCount: 3)))
        decoder.reset()
        decoder.beginChunk(size: 2, last: true)
        #expect(decoder.next(&buffer) == .content(ByteBuffer(string: "xy")))
        #expect(decoder.next(&buffer) == .chunkEnd(last: true, summary: SMTPMessageSummary(byteCount: 2)))
    }

    @Test func noChunkMeansNothingIsRead() {
        var decoder = BDATDecoder()
        var buffer = ByteBuffer(string: "QUIT\r\n")
        #expect(decoder.next(&buffer) == .needsMoreData)
        #expect(buffer.readableBytes == 6)
    }

    @Test func unterminatedLastLineCountsForLongLines() {
        let limits = SMTPLimits(maxTextLineLength: 3)
        #expect(run([(3, true)], input: Array("abc".utf8), limits: limits).ends.first?.1.hasLongLines == false)
        #expect(run([(4, true)], input: Array("abcd".utf8), limits: limits).ends.first?.1.hasLongLines == true)
    }
}
