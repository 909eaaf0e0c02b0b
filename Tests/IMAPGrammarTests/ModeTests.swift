import NIOCore
import Testing
@testable import IMAPGrammar

/// IDLE (RFC 2177) and AUTHENTICATE (RFC 9051 section 6.2.2) continuation lines.
@Suite("parser modes")
struct ModeTests {
    @Test(arguments: ["DONE\r\n", "done\r\n", "DoNe\n"])
    func idleDone(_ line: String) {
        var parser = CommandParser()
        #expect(drain(&parser, "a IDLE\r\n") == [.command(.init("a", .idle))])
        parser.mode = .idle
        #expect(drain(&parser, line + "b NOOP\r\n") == [.idleDone, .command(.init("b", .noop))])
        #expect(parser.mode == .command)
    }

    @Test func idleDoneByteByByte() {
        var parser = CommandParser()
        parser.mode = .idle
        #expect(significant(feedByteByByte(&parser, Array("DONE\r\n".utf8))) == [.idleDone])
    }

    @Test func idleGarbage() {
        var parser = CommandParser()
        parser.mode = .idle
        let results = drain(&parser, "a NOOP\r\nDONE\r\n")
        #expect(errorOf(results)?.tag == nil)
        #expect(results.last == .idleDone)
    }

    @Test func authenticateExchange() {
        // RFC 4616 PLAIN without SASL-IR: C: a AUTHENTICATE PLAIN / S: + / C: base64
        var parser = CommandParser()
        #expect(drain(&parser, "a AUTHENTICATE PLAIN\r\n") == [.command(.init("a", .authenticate(mechanism: "PLAIN", initialResponse: nil)))])
        parser.mode = .authenticate
        #expect(drain(&parser, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n") == [.authenticationResponse(.data(Array("\0tim\0tanstaaftanstaaf".utf8)))])
        #expect(parser.mode == .authenticate)
        #expect(drain(&parser, "\r\n") == [.authenticationResponse(.data([]))])
        parser.mode = .command
        #expect(drain(&parser, "b NOOP\r\n") == [.command(.init("b", .noop))])
    }

    @Test func authenticateCancel() {
        var parser = CommandParser()
        parser.mode = .authenticate
        #expect(drain(&parser, "*\r\nb NOOP\r\n") == [.authenticationResponse(.cancel), .command(.init("b", .noop))])
    }

    @Test func authenticateInvalidBase64() {
        var parser = CommandParser()
        parser.mode = .authenticate
        let results = drain(&parser, "not base64!\r\nb NOOP\r\n")
        #expect(errorOf(results) != nil)
        #expect(results.last == .command(.init("b", .noop)))
    }

    @Test func authenticateLineBound() {
        var parser = CommandParser(limits: IMAPLimits(maxCommandLineLength: 10))
        parser.mode = .authenticate
        #expect(errorOf(drain(&parser, "QUFBQUFBQUFB\r\n"))?.kind == .lineTooLong)
    }
}
