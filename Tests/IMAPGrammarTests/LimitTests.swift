import NIOCore
import Testing
@testable import IMAPGrammar

/// Every bound of ``IMAPLimits`` at the limit (accepted) and one past it (rejected with the
/// documented response).
@Suite("IMAPLimits")
struct LimitTests {
    /// `a LOGIN x <password>` padded so the whole line is exactly `length` bytes with CRLF.
    func loginLine(length: Int) -> String {
        let prefix = "a LOGIN x "
        return prefix + String(repeating: "p", count: length - prefix.utf8.count - 2) + "\r\n"
    }

    @Test func commandLineAtLimit() {
        let limits = IMAPLimits(maxCommandLineLength: 100)
        let results = parseOne(loginLine(length: 100), limits: limits)
        #expect(results == [.command(.init("a", .login(username: "x", password: String(repeating: "p", count: 88))))])
    }

    @Test func commandLineOnePastLimit() {
        let limits = IMAPLimits(maxCommandLineLength: 100)
        var parser = CommandParser(limits: limits)
        let results = drain(&parser, loginLine(length: 101))
        let error = errorOf(results)
        #expect(error?.kind == .lineTooLong)
        #expect(error?.tag == "a")
        #expect(error?.closeConnection == true)
        #expect(error?.responseCode == .tooBig)
        #expect(error.map { encode($0.response) } == "a BAD [TOOBIG] Command line too long\r\n")
        // The connection is closing: further input is discarded.
        #expect(drain(&parser, "b NOOP\r\n") == [])
    }

    @Test func commandLineTooLongWithoutNewline() {
        // A client that never sends LF cannot make the parser buffer more than the limit.
        let limits = IMAPLimits(maxCommandLineLength: 100)
        var parser = CommandParser(limits: limits)
        #expect(drain(&parser, String(repeating: "x", count: 100)) == [])
        #expect(errorOf(drain(&parser, "x"))?.kind == .lineTooLong)
    }

    @Test func lineLengthCountsAllLinesOfACommand() {
        let limits = IMAPLimits(maxCommandLineLength: 30)
        // "a LOGIN {3+}\r\n" is 14 bytes, " {3+}\r\n" 7 more, final CRLF 2: 23 in all.
        #expect(parseOne("a LOGIN {3+}\r\nabc {3+}\r\ndef\r\n", limits: limits).count == 1)
        let long = "a LOGIN {3+}\r\nabc " + String(repeating: "z", count: 10) + " {3+}\r\ndef\r\n"
        #expect(errorOf(parseOne(long, limits: limits))?.kind == .lineTooLong)
    }

    @Test func literalAtLimit() {
        let limits = IMAPLimits(maxLiteralSize: 16)
        let password = String(repeating: "s", count: 16)
        let results = parseOne("a LOGIN x {16}\r\n\(password)\r\n", limits: limits)
        #expect(results == [.needsContinuation(literalSize: 16), .command(.init("a", .login(username: "x", password: password)))])
    }

    @Test func synchronizingLiteralOnePastLimit() {
        let limits = IMAPLimits(maxLiteralSize: 16)
        var parser = CommandParser(limits: limits)
        let error = errorOf(drain(&parser, "a LOGIN x {17}\r\n"))
        #expect(error?.kind == .literalTooLarge)
        #expect(error?.tag == "a")
        #expect(error?.closeConnection == false)
        #expect(error.map { encode($0.response) } == "a BAD [TOOBIG] Literal too large\r\n")
        // The client did not send the literal: the session goes on.
        #expect(drain(&parser, "b NOOP\r\n") == [.command(.init("b", .noop))])
    }

    @Test func nonSynchronizingLiteralOnePastLimit() {
        let limits = IMAPLimits(maxLiteralSize: 16)
        let error = errorOf(parseOne("a LOGIN x {17+}\r\n", limits: limits))
        #expect(error?.kind == .literalTooLarge)
        #expect(error?.closeConnection == true)
    }

    @Test func commandSizeAtAndPastLimit() {
        let limits = IMAPLimits(maxCommandSize: 40, maxLiteralSize: 100)
        // "a LOGIN x {20}\r\n" = 16 bytes, literal 20, CRLF 2 = 38.
        let ok = "a LOGIN x {20}\r\n" + String(repeating: "s", count: 20) + "\r\n"
        #expect(parseOne(ok, limits: limits).last == .command(.init("a", .login(username: "x", password: String(repeating: "s", count: 20)))))
        let tooBig = "a LOGIN x {25}\r\n"
        let error = errorOf(parseOne(tooBig, limits: limits))
        #expect(error?.kind == .commandTooLarge)
        #expect(error?.closeConnection == false)
    }

    @Test func appendAtLimit() {
        let limits = IMAPLimits(maxAppendLiteralSize: 10)
        let results = significant(parseOne("a APPEND INBOX {10+}\r\n0123456789\r\n", limits: limits))
        #expect(results.last == .appendFinish)
    }

    @Test func appendOnePastLimit() {
        let limits = IMAPLimits(maxAppendLiteralSize: 10)
        var parser = CommandParser(limits: limits)
        let error = errorOf(drain(&parser, "a APPEND INBOX (\\Seen) {11}\r\n"))
        #expect(error?.kind == .appendTooLarge)
        #expect(error?.responseState == IMAPGrammar.ResponseState.no)
        #expect(error?.closeConnection == false)
        #expect(error.map { encode($0.response) } == "a NO [TOOBIG] Message too large (maximum 10 octets)\r\n")
        #expect(drain(&parser, "b NOOP\r\n") == [.command(.init("b", .noop))])
        let nonSync = errorOf(parseOne("a APPEND INBOX {11+}\r\n", limits: limits))
        #expect(nonSync?.kind == .appendTooLarge)
        #expect(nonSync?.closeConnection == true)
    }

    @Test func searchNestingAtAndPastLimit() {
        let limits = IMAPLimits(maxSearchNestingDepth: 3)
        #expect(errorOf(parseOne("a SEARCH (((SEEN)))\r\n", limits: limits)) == nil)
        #expect(errorOf(parseOne("a SEARCH NOT NOT NOT SEEN\r\n", limits: limits)) == nil)
        let error = errorOf(parseOne("a SEARCH ((((SEEN))))\r\n", limits: limits))
        #expect(error?.kind == .nestingTooDeep)
        #expect(error.map { encode($0.response) } == "a BAD [LIMIT] search nesting too deep\r\n")
        #expect(errorOf(parseOne("a SEARCH NOT NOT NOT NOT SEEN\r\n", limits: limits))?.kind == .nestingTooDeep)
        #expect(errorOf(parseOne("a SEARCH OR OR OR OR SEEN SEEN SEEN SEEN SEEN\r\n", limits: limits))?.kind == .nestingTooDeep)
    }

    @Test func deepNestingWithDefaultLimitsDoesNotOverflowTheStack() {
        let deep = "a SEARCH " + String(repeating: "(", count: 20_000) + "SEEN" + String(repeating: ")", count: 20_000) + "\r\n"
        #expect(errorOf(parseOne(deep))?.kind == .nestingTooDeep)
    }

    @Test func sequenceSetRangesAtAndPastLimit() {
        let limits = IMAPLimits(maxSequenceSetRanges: 4)
        #expect(errorOf(parseOne("a FETCH 1,2,3:4,* FLAGS\r\n", limits: limits)) == nil)
        let error = errorOf(parseOne("a FETCH 1,2,3,4,5 FLAGS\r\n", limits: limits))
        #expect(error?.kind == .tooManyItems)
        #expect(error?.responseCode == .limit)
    }

    @Test func fetchAttributesAtAndPastLimit() {
        let limits = IMAPLimits(maxFetchAttributes: 3)
        #expect(errorOf(parseOne("a FETCH 1 (UID FLAGS ENVELOPE)\r\n", limits: limits)) == nil)
        #expect(errorOf(parseOne("a FETCH 1 (UID FLAGS ENVELOPE RFC822.SIZE)\r\n", limits: limits))?.kind == .tooManyItems)
    }

    @Test func listItemsAtAndPastLimit() {
        let limits = IMAPLimits(maxListItems: 2)
        #expect(errorOf(parseOne("a STORE 1 +FLAGS (\\Seen \\Flagged)\r\n", limits: limits)) == nil)
        #expect(errorOf(parseOne("a STORE 1 +FLAGS (\\Seen \\Flagged \\Draft)\r\n", limits: limits))?.kind == .tooManyItems)
    }

    @Test func idPairsAtAndPastLimit() {
        let pairs = (0..<IDField.maxPairs).map { "\"k\($0)\" \"v\"" }.joined(separator: " ")
        #expect(errorOf(parseOne("a ID (\(pairs))\r\n")) == nil)
        #expect(errorOf(parseOne("a ID (\(pairs) \"x\" NIL)\r\n"))?.kind == .tooManyItems)
    }
}

@Test("after a closing error the rest of the input is discarded, never parsed as commands")
func closingErrorDiscardsInput() {
    var parser = CommandParser(limits: IMAPLimits(maxLiteralSize: 4))
    let results = drain(&parser, "a LOGIN x {20+}\r\nb DELETE INBOX\r\nc NOOP\r\n")
    #expect(results.count == 1)
    #expect(errorOf(results)?.closeConnection == true)
    #expect(parser.isFailed)
    #expect(drain(&parser, "d NOOP\r\n") == [])
}

@Test("reset after STARTTLS forgets a partial command")
func resetAfterStartTLS() {
    var parser = CommandParser()
    #expect(drain(&parser, "a STARTTLS\r\nb LOG") == [.command(.init("a", .startTLS))])
    parser.reset()
    #expect(drain(&parser, "c NOOP\r\n") == [.command(.init("c", .noop))])
}

@Test("a closing error answers, then says BYE")
func closingErrorResponses() {
    let error = errorOf(parseOne("a APPEND INBOX {11+}\r\n", limits: IMAPLimits(maxAppendLiteralSize: 10)))!
    #expect(error.responses.map { encode($0) } == [
        "a NO [TOOBIG] Message too large (maximum 10 octets)\r\n",
        "* BYE Closing connection\r\n",
    ])
    let plain = CommandParseError(tag: "b", kind: .badSyntax, message: "x")
    #expect(plain.responses.count == 1)
}
