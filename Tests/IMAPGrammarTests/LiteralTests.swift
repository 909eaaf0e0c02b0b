import NIOCore
import Testing
@testable import IMAPGrammar

/// Literals (RFC 9051 section 4.3) and non-synchronizing literals (RFC 7888), fed whole and byte
/// by byte: the parser asks for a continuation exactly once per synchronizing literal.
struct LiteralVector: Sendable, CustomTestStringConvertible {
    var input: String
    var expected: TaggedCommand
    var continuations: [Int]
    var testDescription: String { input.debugDescription }
}

let literalVectors: [LiteralVector] = [
    // RFC 9051 section 6.2.3 example
    .init(input: "A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n",
          expected: .init("A001", .login(username: "FRED FOOBAR", password: "fat man")), continuations: [11, 7]),
    .init(input: "A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n",
          expected: .init("A001", .login(username: "FRED FOOBAR", password: "fat man")), continuations: []),
    .init(input: "A002 LOGIN {0}\r\n {2+}\r\n\r\n\r\n",
          expected: .init("A002", .login(username: "", password: "\r\n")), continuations: [0]),
    .init(input: "A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n",
          expected: .init("A284", .search(SearchCommand(charset: "UTF-8", key: .text("XXXXXX")))), continuations: [6]),
    .init(input: "A285 SEARCH CHARSET UTF-8 SUBJECT {6+}\r\n\u{65E5}\u{672C}\r\n",
          expected: .init("A285", .search(SearchCommand(charset: "UTF-8", key: .subject("\u{65E5}\u{672C}")))), continuations: []),
    .init(input: "A3 SELECT {5}\r\nINBOX (CONDSTORE)\r\n",
          expected: .init("A3", .select(.inbox, [.condStore])), continuations: [5]),
    .init(input: "A4 RENAME {3}\r\na{b {4}\r\nc}d\"\r\n",
          expected: .init("A4", .rename(from: "a{b", to: "c}d\"")), continuations: [3, 4]),
    .init(input: "A5 FETCH 1 BODY[HEADER.FIELDS ({4}\r\nDATE FROM)]\r\n",
          expected: .init("A5", .fetch(FetchCommand(sequenceSet: SequenceSet(1), attributes: [
            .body(section: SectionSpecifier(kind: .headerFields(["DATE", "FROM"])), partial: nil, peek: false)]))), continuations: [4]),
]

@Test("literals in one piece", arguments: literalVectors)
func literalWhole(_ vector: LiteralVector) {
    let results = parseOne(vector.input)
    #expect(results == vector.continuations.map { .needsContinuation(literalSize: $0) } + [.command(vector.expected)])
}

@Test("literals byte by byte", arguments: literalVectors)
func literalByteByByte(_ vector: LiteralVector) {
    var parser = CommandParser()
    let results = feedByteByByte(&parser, Array(vector.input.utf8))
    #expect(significant(results) == vector.continuations.map { .needsContinuation(literalSize: $0) } + [.command(vector.expected)])
}

@Test("the parser keeps its progress across a continuation")
func continuationKeepsProgress() {
    var parser = CommandParser()
    #expect(drain(&parser, "A001 LOGIN {11}\r\n") == [.needsContinuation(literalSize: 11)])
    #expect(drain(&parser, "FRED ") == [])
    #expect(drain(&parser, "FOOBAR {7}\r\n") == [.needsContinuation(literalSize: 7)])
    #expect(drain(&parser, "fat man\r\n") == [.command(.init("A001", .login(username: "FRED FOOBAR", password: "fat man")))])
}

@Test("a synchronizing literal of an unknown command is refused before the continuation")
func literalOfUnknownCommand() {
    var parser = CommandParser()
    let results = drain(&parser, "x1 BOGUS {5}\r\n")
    #expect(errorOf(results)?.tag == "x1")
    #expect(errorOf(results)?.kind == .unknownCommand)
    #expect(drain(&parser, "x2 NOOP\r\n") == [.command(.init("x2", .noop))])
}

@Test("a non-synchronizing literal of a bad command is read, then rejected")
func nonSyncLiteralOfBadCommand() {
    let results = parseOne("x1 BOGUS {5+}\r\nNOOP\r\r\nx2 NOOP\r\n")
    #expect(results.count == 2)
    #expect(errorOf(results)?.tag == "x1")
    #expect(results.last == .command(.init("x2", .noop)))
}

@Test("the server can refuse a synchronizing literal")
func refuseLiteral() {
    var parser = CommandParser()
    #expect(drain(&parser, "A1 LOGIN {11}\r\n") == [.needsContinuation(literalSize: 11)])
    let rejected = parser.rejectPendingLiteral()
    #expect(rejected)
    #expect(drain(&parser, "A2 NOOP\r\n") == [.command(.init("A2", .noop))])
}

@Test("literal8 outside APPEND is an error")
func literal8OutsideAppend() {
    let error = errorOf(parseOne("a LOGIN ~{3}\r\n"))
    #expect(error?.tag == "a")
    #expect(error?.closeConnection == false)
}

/// Input fed in pieces -> whether the parser, having used all of it, holds part of a command. The
/// server acknowledges such input at once (a client with Nagle's algorithm on waits for that
/// acknowledgement before it sends the CRLF that ends an APPEND).
let withinCommandVectors: [(pieces: [String], within: Bool)] = [
    (["a1 NOOP\r\n"], false),
    (["a1 NO"], true),
    (["a1 LOGIN {3}\r\n"], true),
    (["a1 LOGIN {3}\r\n", "abc"], true),
    (["a1 LOGIN {3}\r\n", "abc x\r\n"], false),
    (["a2 APPEND INBOX {5}\r\n"], true),
    (["a2 APPEND INBOX {5}\r\n", "hello"], true),
    (["a2 APPEND INBOX {5}\r\n", "hello", "\r\n"], false),
    (["a3 APPEND INBOX {2+}\r\nhi {2+}\r\nho"], true),
]

@Test("a command that arrived in part is told apart from one that ended", arguments: withinCommandVectors.indices)
func withinCommand(_ index: Int) {
    let vector = withinCommandVectors[index]
    var parser = CommandParser()
    var buffer = ByteBuffer()
    for piece in vector.pieces {
        buffer.writeString(piece)
        while case let result = parser.parse(&buffer), result != .needsMoreData {}
    }
    #expect(parser.isWithinCommand == vector.within, "\(vector.pieces)")
}

/// A command rejected before a non-synchronizing literal: the client sends the literal anyway (RFC
/// 7888), so its octets and the rest of the command are skipped, and the next command is read as one.
let rejectedBeforeLiteralVectors: [(input: String, tag: String)] = [
    ("a APPEND INBOX (\\Seen) \"bad\" {3+}\r\nabc\r\nb NOOP\r\n", "a"),
    ("a APPEND INBOX (\\Seen {3+}\r\nabc\r\nb NOOP\r\n", "a"),
    ("a SEARCH SUBJECT ~{3+}\r\nabc\r\nb NOOP\r\n", "a"),
    // The bad line comes after a first message: the second message and the end are skipped.
    ("a APPEND INBOX {3+}\r\nabc (\\Recent) {5+}\r\nb NOO\r\n\r\nb NOOP\r\n", "a"),
    // Several literals after the rejected line: each is skipped.
    ("a SEARCH SUBJECT ~{3+}\r\nabc BODY {6+}\r\nc NOOP\r\nb NOOP\r\n", "a"),
]

@Test("a command rejected before a non-synchronizing literal skips it and keeps the connection",
      arguments: rejectedBeforeLiteralVectors)
func rejectedBeforeLiteralSkipsIt(input: String, tag: String) {
    var parser = CommandParser()
    let results = drain(&parser, input).filter {
        switch $0 {
        case .appendStart, .appendBeginMessage, .appendData, .appendEndMessage: false
        default: true
        }
    }
    let error = errorOf(results)
    #expect(error?.tag == tag)
    #expect(error?.closeConnection == false)
    #expect(results.last == .command(.init("b", .noop)))
    #expect(results.count == 2)
    #expect(!parser.isFailed)
}

@Test("a rejected command's literal beyond the limit still closes the connection")
func rejectedBeforeHugeLiteralCloses() {
    var parser = CommandParser(limits: IMAPLimits(maxLiteralSize: 4))
    let error = errorOf(drain(&parser, "a LOGIN ~{5+}\r\nabcde\r\n"))
    #expect(error?.closeConnection == true)
    #expect(parser.isFailed)
    // A later literal of the rejected command, beyond what is skipped, closes it too.
    var later = CommandParser(limits: IMAPLimits(maxAppendLiteralSize: 8))
    let results = drain(&later, "a SEARCH SUBJECT ~{3+}\r\nabc BODY {9+}\r\nb NOOP\r\n")
    #expect(results.count == 2)
    #expect(errorOf(Array(results.dropFirst()))?.closeConnection == true)
    #expect(later.isFailed)
}
