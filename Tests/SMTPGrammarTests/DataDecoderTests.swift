import NIOCore
import Testing
@testable import SMTPGrammar

/// The DATA content decoder (RFC 5321 sections 3.3 and 4.5.2).
@Suite("DATA decoder")
struct DataDecoderTests {
    /// A message as the client sends it (dot-stuffed, with the end of data), then a pipelined
    /// command that must be left in the buffer.
    static let sample = Array((
        "From: <Smith@bar.com>\r\n"
        + "Subject: dots\r\n"
        + "\r\n"
        + "..leading dot\r\n"
        + "...two dots\r\n"
        + ".\tdot and tab\r\n"
        + "not.a.terminator\r\n"
        + " .\r\n"
        + "..\r\n"
        + "bare\nline feed and bare\rreturn\r\n"
        + ".\r\n"
        + "QUIT\r\n"
    ).utf8)

    static let sampleContent = Array((
        "From: <Smith@bar.com>\r\n"
        + "Subject: dots\r\n"
        + "\r\n"
        + ".leading dot\r\n"
        + "..two dots\r\n"
        + "\tdot and tab\r\n"
        + "not.a.terminator\r\n"
        + " .\r\n"
        + ".\r\n"
        + "bare\nline feed and bare\rreturn\r\n"
    ).utf8)

    func expectSample(_ decoded: DecodedMessage, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(decoded.content == Self.sampleContent, sourceLocation: sourceLocation)
        #expect(decoded.leftover == Array("QUIT\r\n".utf8), sourceLocation: sourceLocation)
        #expect(decoded.summary == SMTPMessageSummary(
            byteCount: Self.sampleContent.count, hasBareLineFeed: true, hasBareCarriageReturn: true), sourceLocation: sourceLocation)
    }

    @Test func wholeSample() {
        expectSample(decodeData([Self.sample]))
    }

    @Test func sampleSplitAtEveryOffset() {
        for offset in 0...Self.sample.count {
            expectSample(decodeData(split(Self.sample, at: [offset])))
        }
    }

    @Test func sampleSplitAtEveryPairOfOffsets() {
        for first in 0...Self.sample.count {
            for second in first...Self.sample.count {
                expectSample(decodeData(split(Self.sample, at: [first, second])))
            }
        }
    }

    @Test func sampleByteByByte() {
        let decoded = decodeData(Self.sample.map { [$0] })
        expectSample(decoded)
    }

    @Test func terminatorSplitInEveryPosition() {
        // Every cut through "<CRLF>.<CRLF>", including the CRLF that ends the last line.
        let message = Array("last line\r\n.\r\nNOOP\r\n".utf8)
        let terminatorStart = 9
        for first in terminatorStart...(terminatorStart + 5) {
            for second in first...(terminatorStart + 5) {
                let decoded = decodeData(split(message, at: [first, second]))
                #expect(decoded.content == Array("last line\r\n".utf8))
                #expect(decoded.leftover == Array("NOOP\r\n".utf8))
            }
        }
    }

    /// Content -> what the decoder yields (the content with its end of data).
    static let vectors: [(String, String)] = [
        // RFC 5321 D.1
        ("Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\n", "Blah blah blah...\r\n..etc. etc. etc.\r\n"),
        // A first line of "." ends an empty message at once.
        (".\r\n", ""),
        ("\r\n.\r\n", "\r\n"),
        ("..\r\n.\r\n", ".\r\n"),
        ("a\r\n..\r\n.\r\n", "a\r\n.\r\n"),
        (".a\r\n.\r\n", "a\r\n"),
        ("a.\r\n.\r\n", "a.\r\n"),
        ("a\r\n.\r.\r\n.\r\n", "a\r\n\r.\r\n"),
        ("a\r\n.\r\r\n.\r\n", "a\r\n\r\r\n"),
        (".\r.\r\n.\r\n", "\r.\r\n"),
        // Not the end of data: bare LF or CR around the dot (SMTP smuggling).
        ("a\n.\nb\r\n.\r\n", "a\n.\nb\r\n"),
        ("a\r\n.\nb\r\n.\r\n", "a\r\n\nb\r\n"),
        ("a\n.\r\nb\r\n.\r\n", "a\n.\r\nb\r\n"),
        ("a\r.\r\nb\r\n.\r\n", "a\r.\r\nb\r\n"),
        ("a\r\n.\rb\r\n.\r\n", "a\r\n\rb\r\n"),
        ("a\r\n .\r\n.\r\n", "a\r\n .\r\n"),
    ]

    @Test("content vectors", arguments: vectors)
    func contentVector(_ input: String, _ expected: String) {
        let bytes = Array(input.utf8)
        for offset in 0...bytes.count {
            let decoded = decodeData(split(bytes, at: [offset]))
            #expect(decoded.content == Array(expected.utf8))
            #expect(decoded.summary?.byteCount == expected.utf8.count)
            #expect(decoded.leftover.isEmpty)
        }
    }

    @Test func noEndOfDataMeansNoEnd() {
        for input in ["", "a\r\n", "a\r\n.", "a\r\n.\r", "a\n.\n", "a\r\n.\n", "a\n.\r\n"] {
            #expect(decodeData(input).summary == nil)
        }
    }

    @Test func facts() {
        #expect(decodeData("plain\r\n.\r\n").summary == SMTPMessageSummary(byteCount: 7))
        #expect(decodeData("caf\u{E9}\r\n.\r\n").summary?.hasEightBitData == true)
        #expect(decodeData("a\nb\r\n.\r\n").summary?.hasBareLineFeed == true)
        #expect(decodeData("a\rb\r\n.\r\n").summary?.hasBareCarriageReturn == true)
        #expect(decodeData("a\r\r\n.\r\n").summary?.hasBareCarriageReturn == true)
        #expect(decodeData("a\r\n.\r\n").summary?.hasBareCarriageReturn == false)
    }

    @Test func chunksAreSlicesOfTheInput() {
        // Lines that do not begin with a dot come out as one chunk.
        let decoded = decodeData("one\r\ntwo\r\nthree\r\n.\r\n")
        #expect(decoded.contentEvents == 1)
        #expect(decoded.content == Array("one\r\ntwo\r\nthree\r\n".utf8))
    }

    @Test func endIsRepeatedAndConsumesNothingMore() {
        var decoder = SMTPDataDecoder()
        var buffer = ByteBuffer(string: ".\r\nRSET\r\n")
        #expect(decoder.next(&buffer) == .end(SMTPMessageSummary()))
        #expect(decoder.next(&buffer) == .end(SMTPMessageSummary()))
        #expect(buffer.text == "RSET\r\n")
    }

    @Test func randomMessagesSurviveStuffingAndRandomSplits() {
        var generator = SeededGenerator(state: 5321)
        let alphabet = Array("ab.\r\n .".utf8)
        for _ in 0..<300 {
            // Random lines over a small alphabet rich in dots, CRs and LFs, each ending in CRLF.
            var content: [UInt8] = []
            for _ in 0..<Int.random(in: 0...8, using: &generator) {
                for _ in 0..<Int.random(in: 0...6, using: &generator) {
                    content.append(alphabet.randomElement(using: &generator)!)
                }
                content += [0x0D, 0x0A]
            }
            let sent = dotStuffed(content) + Array("NOOP\r\n".utf8)
            var offsets = (0..<Int.random(in: 0...4, using: &generator)).map { _ in Int.random(in: 0...sent.count, using: &generator) }
            offsets.sort()
            let decoded = decodeData(split(sent, at: offsets))
            #expect(decoded.content == content)
            #expect(decoded.summary?.byteCount == content.count)
            #expect(decoded.leftover == Array("NOOP\r\n".utf8))
        }
    }
}

/// The decoder observes content a line at a time; what it reports must be what observing octet by
/// octet reports, for any content cut into any chunks.
@Suite("DATA content facts")
struct ContentFactsTests {
    static let pieces: [[UInt8]] = [
        Array("\r\n".utf8), [UInt8.cr], [UInt8.lf], [UInt8.dot], Array("ab".utf8), [0xC3, 0xA9], Array(String(repeating: "x", count: 9).utf8),
    ]

    @Test func segmentsReportWhatOctetsReport() {
        var generator = SeededGenerator(state: 8086)
        let limits = SMTPLimits(maxTextLineLength: 6)
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...30, using: &generator) {
                bytes += Self.pieces.randomElement(using: &generator)!
            }
            var octetwise = ContentInspector(limits: limits)
            for byte in bytes { octetwise.observe(byte) }
            var segmentwise = ContentInspector(limits: limits)
            // Cut anywhere, then at every LF within each cut, as the decoder does.
            let cuts = (0..<Int.random(in: 0...4, using: &generator)).map { _ in Int.random(in: 0...bytes.count, using: &generator) }.sorted()
            for chunk in split(bytes, at: cuts) {
                var start = 0
                for (index, byte) in chunk.enumerated() where byte == .lf {
                    chunk[start...index].withUnsafeBytes { segmentwise.observe(segment: $0) }
                    start = index + 1
                }
                if start < chunk.count { chunk[start...].withUnsafeBytes { segmentwise.observe(segment: $0) } }
            }
            #expect(segmentwise.finish() == octetwise.finish(), "\(bytes)")
        }
    }
}
