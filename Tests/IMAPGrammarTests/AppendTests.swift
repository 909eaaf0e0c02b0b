import NIOCore
import Testing
@testable import IMAPGrammar

let rfcMessage = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu.example\r\nMessage-Id: <B27397-0100000@Blurdybloop.example>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n"

func bytes(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

struct AppendVector: Sendable, CustomTestStringConvertible {
    var input: String
    var expected: [ParseResult]
    var testDescription: String { String(input.prefix(60)).debugDescription }
}

let appendVectors: [AppendVector] = [
    // RFC 9051 section 6.3.12 example
    .init(input: "A003 APPEND saved-messages (\\Seen) {\(rfcMessage.utf8.count)}\r\n\(rfcMessage)\r\n", expected: [
        .appendStart(tag: "A003", mailbox: "saved-messages"),
        .appendBeginMessage(AppendMessage(flags: [.seen], size: rfcMessage.utf8.count)),
        .needsContinuation(literalSize: rfcMessage.utf8.count),
        .appendData(bytes(rfcMessage)), .appendEndMessage, .appendFinish,
    ]),
    // LITERAL+ with a date-time
    .init(input: "A004 APPEND INBOX \"17-Jul-1996 02:44:25 -0700\" {5+}\r\nhello\r\n", expected: [
        .appendStart(tag: "A004", mailbox: .inbox),
        .appendBeginMessage(AppendMessage(internalDate: IMAPDateTime(date: IMAPDate(year: 1996, month: 7, day: 17), hour: 2, minute: 44, second: 25, zoneMinutes: -420),
                                          size: 5, isSynchronizing: false)),
        .appendData(bytes("hello")), .appendEndMessage, .appendFinish,
    ]),
    // flags and date, day with a leading space
    .init(input: "A005 APPEND Drafts (\\Draft $MDNSent) \" 7-Feb-1994 21:52:25 +0100\" {2}\r\nhi\r\n", expected: [
        .appendStart(tag: "A005", mailbox: "Drafts"),
        .appendBeginMessage(AppendMessage(flags: [.draft, .keyword("$MDNSent")],
                                          internalDate: IMAPDateTime(date: IMAPDate(year: 1994, month: 2, day: 7), hour: 21, minute: 52, second: 25, zoneMinutes: 60),
                                          size: 2)),
        .needsContinuation(literalSize: 2),
        .appendData(bytes("hi")), .appendEndMessage, .appendFinish,
    ]),
    // literal8 (BINARY, RFC 3516)
    .init(input: "A006 APPEND INBOX ~{3}\r\na\u{0}b\r\n", expected: [
        .appendStart(tag: "A006", mailbox: .inbox),
        .appendBeginMessage(AppendMessage(size: 3, isBinary: true)),
        .needsContinuation(literalSize: 3),
        .appendData(bytes("a\u{0}b")), .appendEndMessage, .appendFinish,
    ]),
    // mailbox name as a literal, then the message
    .init(input: "A007 APPEND {4}\r\nSent {3+}\r\nabc\r\n", expected: [
        .needsContinuation(literalSize: 4),
        .appendStart(tag: "A007", mailbox: "Sent"),
        .appendBeginMessage(AppendMessage(size: 3, isSynchronizing: false)),
        .appendData(bytes("abc")), .appendEndMessage, .appendFinish,
    ]),
    // MULTIAPPEND (RFC 3502) and an empty message
    .init(input: "A008 APPEND INBOX (\\Seen) {1+}\r\nx (\\Flagged) {0}\r\n\r\n", expected: [
        .appendStart(tag: "A008", mailbox: .inbox),
        .appendBeginMessage(AppendMessage(flags: [.seen], size: 1, isSynchronizing: false)),
        .appendData(bytes("x")), .appendEndMessage,
        .appendBeginMessage(AppendMessage(flags: [.flagged], size: 0)),
        .needsContinuation(literalSize: 0),
        .appendEndMessage, .appendFinish,
    ]),
]

@Test("APPEND streams its message", arguments: appendVectors)
func appendWhole(_ vector: AppendVector) {
    var parser = CommandParser()
    #expect(significant(drain(&parser, vector.input)) == vector.expected)
    #expect(drain(&parser, "n NOOP\r\n") == [.command(.init("n", .noop))])
}

@Test("APPEND byte by byte", arguments: appendVectors)
func appendByteByByte(_ vector: AppendVector) {
    var parser = CommandParser()
    #expect(significant(feedByteByByte(&parser, Array(vector.input.utf8))) == vector.expected)
}

@Test("APPEND data are slices of the caller's buffer, never more than was announced")
func appendSlices() {
    var parser = CommandParser()
    var buffer = ByteBuffer(string: "A1 APPEND INBOX {10+}\r\n0123")
    let r1 = parser.parse(&buffer)
    #expect(r1 == .appendStart(tag: "A1", mailbox: .inbox))
    let r2 = parser.parse(&buffer)
    #expect(r2 == .appendBeginMessage(AppendMessage(size: 10, isSynchronizing: false)))
    let r3 = parser.parse(&buffer)
    #expect(r3 == .appendData(bytes("0123")))
    let r4 = parser.parse(&buffer)
    #expect(r4 == .needsMoreData)
    buffer.writeString("456789\r\nA2 NOOP\r\n")
    let r5 = parser.parse(&buffer)
    #expect(r5 == .appendData(bytes("456789")))
    let r6 = parser.parse(&buffer)
    #expect(r6 == .appendEndMessage)
    let r7 = parser.parse(&buffer)
    #expect(r7 == .appendFinish)
    let r8 = parser.parse(&buffer)
    #expect(r8 == .command(.init("A2", .noop)))
}

@Test("the server can refuse an APPEND before the continuation")
func refuseAppend() {
    var parser = CommandParser()
    let results = drain(&parser, "A1 APPEND INBOX {100}\r\n")
    #expect(results.last == .needsContinuation(literalSize: 100))
    let rejected = parser.rejectPendingLiteral()
    #expect(rejected)
    #expect(drain(&parser, "A2 NOOP\r\n") == [.command(.init("A2", .noop))])
}

@Test("bad APPEND syntax is reported with the tag")
func badAppend() {
    let error = errorOf(parseOne("A1 APPEND INBOX (\\Seen \"bad date\" {5}\r\nA2 NOOP\r\n"))
    #expect(error?.tag == "A1")
    #expect(error?.closeConnection == false)
    let after = parseOne("A1 APPEND INBOX {1+}\r\nx garbage\r\nA2 NOOP\r\n")
    #expect(errorOf(after)?.tag == "A1")
    #expect(after.last == .command(.init("A2", .noop)))
}

@Test("a large APPEND streams in linear time without buffering")
func largeAppend() {
    let size = 8 * 1024 * 1024
    var parser = CommandParser()
    var buffer = ByteBuffer(string: "A1 APPEND INBOX {\(size)+}\r\n")
    var delivered = 0
    var events: [String] = []
    func pump() {
        while true {
            switch parser.parse(&buffer) {
            case .needsMoreData: return
            case .appendData(let chunk): delivered += chunk.readableBytes
            case let other: events.append("\(other)")
            }
        }
    }
    pump()
    let chunk = [UInt8](repeating: 0x61, count: 65_536)
    for _ in 0..<(size / chunk.count) {
        buffer.writeBytes(chunk)
        pump()
    }
    buffer.writeString("\r\n")
    pump()
    #expect(delivered == size)
    #expect(events.count == 4)  // start, begin, end, finish
    #expect(events.last == "\(ParseResult.appendFinish)")
}

@Test("APPEND accepts a single-digit day without the leading space")
func appendLenientDate() {
    let results = significant(parseOne("A1 APPEND INBOX \"7-Feb-1994 21:52:25 -0800\" {1+}\r\nx\r\n"))
    #expect(results.count == 5)
    if case .appendBeginMessage(let message) = results[1] {
        #expect(message.internalDate?.date.day == 7)
        #expect(message.internalDate?.zoneMinutes == -480)
    } else {
        Issue.record("expected appendBeginMessage")
    }
}
