import NIOCore
@testable import SMTPGrammar

extension ByteBuffer {
    var text: String { String(decoding: readableBytesView, as: UTF8.self) }
}

/// Parses one line with the default limits.
func parse(_ line: String, limits: SMTPLimits = .default) -> Result<SMTPCommand, SMTPCommandError> {
    Result { () throws(SMTPCommandError) -> SMTPCommand in try SMTPCommandParser(limits: limits).parse(line) }
}

func parsedCommand(_ line: String, limits: SMTPLimits = .default) -> SMTPCommand? {
    try? parse(line, limits: limits).get()
}

func parseError(_ line: String, limits: SMTPLimits = .default) -> SMTPCommandError? {
    if case .failure(let error) = parse(line, limits: limits) { return error }
    return nil
}

func address(_ text: String) -> SMTPAddress {
    try! SMTPAddress(parsing: text)
}

func mailbox(_ text: String) -> SMTPPath {
    .mailbox(address(text))
}

/// Reads every line the reader yields from `chunks`, fed one after the other.
func readLines(_ reader: inout SMTPLineReader, _ chunks: [String]) -> [SMTPLineReader.Outcome] {
    var out: [SMTPLineReader.Outcome] = []
    for chunk in chunks {
        var buffer = ByteBuffer(string: chunk)
        while true {
            let outcome = reader.next(&buffer)
            if outcome == .needsMoreData { break }
            out.append(outcome)
        }
        precondition(buffer.readableBytes == 0, "needsMoreData left bytes unread")
    }
    return out
}

/// The outcome of decoding one message fed in `chunks`: its content, summary, and the bytes
/// left after the end of data.
struct DecodedMessage: Equatable {
    var content: [UInt8] = []
    var summary: SMTPMessageSummary?
    var leftover: [UInt8] = []
    var contentEvents = 0
}

func decodeData(_ chunks: [[UInt8]], limits: SMTPLimits = .default) -> DecodedMessage {
    var decoder = SMTPDataDecoder(limits: limits)
    var result = DecodedMessage()
    for chunk in chunks {
        var buffer = ByteBuffer(bytes: chunk)
        if result.summary != nil {
            result.leftover += chunk
            continue
        }
        loop: while true {
            switch decoder.next(&buffer) {
            case .content(let content):
                precondition(content.readableBytes > 0, "empty content event")
                result.content += Array(content.readableBytesView)
                result.contentEvents += 1
            case .needsMoreData:
                precondition(buffer.readableBytes == 0, "needsMoreData left bytes unread")
                break loop
            case .end(let summary):
                result.summary = summary
                result.leftover += Array(buffer.readableBytesView)
                break loop
            }
        }
    }
    return result
}

func decodeData(_ text: String, limits: SMTPLimits = .default) -> DecodedMessage {
    decodeData([Array(text.utf8)], limits: limits)
}

/// Splits `bytes` at the given offsets (sorted, within bounds).
func split(_ bytes: [UInt8], at offsets: [Int]) -> [[UInt8]] {
    var chunks: [[UInt8]] = []
    var start = 0
    for offset in offsets {
        chunks.append(Array(bytes[start..<offset]))
        start = offset
    }
    chunks.append(Array(bytes[start...]))
    return chunks
}

/// Dot-stuffs `content` (lines ending with CRLF) and appends the end of data, as a client sends it.
func dotStuffed(_ content: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var atLineStart = true
    var lastWasCR = false
    for byte in content {
        if atLineStart, byte == UInt8(ascii: ".") { out.append(byte) }
        out.append(byte)
        atLineStart = lastWasCR && byte == 0x0A
        lastWasCR = byte == 0x0D
    }
    return out + Array(".\r\n".utf8)
}

/// A small deterministic generator (SplitMix64) so that failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
