import NIOCore
import Testing
@testable import SMTPGrammar

/// Replies: writing (RFC 5321 section 4.2.1, RFC 2034) and reading them back.
@Suite("replies")
struct ReplyTests {
    let writer = SMTPReplyWriter()

    func written(_ reply: SMTPReply, enhanced: Bool = true) -> String {
        SMTPReplyWriter(includesEnhancedStatusCodes: enhanced).encode(reply).text
    }

    @Test func singleLine() {
        #expect(written(.ok) == "250 2.0.0 OK\r\n")
        #expect(written(.ok, enhanced: false) == "250 OK\r\n")
        #expect(written(.startMailInput) == "354 End data with <CR><LF>.<CR><LF>\r\n")
    }

    @Test func multiLine() {
        // RFC 5321 D.1
        let ehlo = SMTPReply.ehlo(domain: "foo.com", greeting: "greets bar.com", extensions: ["8BITMIME", "SIZE", "DSN", "HELP"])
        #expect(written(ehlo) == "250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n")
        // Every line carries the enhanced code (RFC 2034 section 4).
        let multi = SMTPReply(code: 550, enhancedStatusCode: .init(5, 7, 1), lines: ["first", "second"])
        #expect(written(multi) == "550-5.7.1 first\r\n550 5.7.1 second\r\n")
        #expect(written(multi, enhanced: false) == "550-first\r\n550 second\r\n")
    }

    @Test func emptyText() {
        // RFC 4954 section 4: an empty challenge is "334 " with the space.
        #expect(written(.authenticationChallenge([])) == "334 \r\n")
        #expect(written(SMTPReply(code: 250, enhancedStatusCode: .init(2, 0, 0), "")) == "250 2.0.0\r\n")
        #expect(written(SMTPReply(code: 250, lines: [])) == "250 \r\n")
    }

    @Test func textCannotInjectLines() {
        let hostile = SMTPReply(code: 550, enhancedStatusCode: .init(5, 1, 1), "<evil@x>\r\n250 2.0.0 OK\u{0}\u{1B}[31m é")
        #expect(written(hostile) == "550 5.1.1 <evil@x>  250 2.0.0 OK??[31m ?\r\n")
        #expect(written(SMTPReply(code: 250, lines: ["a\nb", "tab\there"])) == "250-a b\r\n250 tab\there\r\n")
    }

    /// Constructor -> code, enhanced code, text (RFC 5321 section 4.2, RFC 3463, RFC 4954,
    /// RFC 3207, RFC 1870, RFC 6531).
    static let constructors: [(SMTPReply, Int, String?, String)] = [
        (.greeting(domain: "mx.example.com"), 220, nil, "mx.example.com ESMTP"),
        (.helo(domain: "mx.example.com"), 250, nil, "mx.example.com"),
        (.bye, 221, "2.0.0", "Bye"),
        (.ok, 250, "2.0.0", "OK"),
        (.ok("Queued as 4F2A"), 250, "2.0.0", "Queued as 4F2A"),
        (.senderOK, 250, "2.1.0", "Sender OK"),
        (.recipientOK, 250, "2.1.5", "Recipient OK"),
        (.cannotVerify, 252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery"),
        (.help("See RFC 5321"), 214, "2.0.0", "See RFC 5321"),
        (.startMailInput, 354, nil, "End data with <CR><LF>.<CR><LF>"),
        (.readyToStartTLS, 220, "2.0.0", "Ready to start TLS"),
        (.authenticationChallenge(Array("Username:".utf8)), 334, nil, "VXNlcm5hbWU6"),
        (.authenticationSucceeded, 235, "2.7.0", "Authentication successful"),
        (.temporaryAuthenticationFailure, 454, "4.7.0", "Temporary authentication failure"),
        (.authenticationCancelled, 501, "5.0.0", "Authentication cancelled"),
        (.invalidBase64, 501, "5.5.2", "Invalid base64 data"),
        (.unrecognizedAuthenticationMechanism, 504, "5.5.4", "Unrecognized authentication mechanism"),
        (.authenticationRequired, 530, "5.7.0", "Authentication required"),
        (.startTLSRequired, 530, "5.7.0", "Must issue a STARTTLS command first"),
        (.authenticationFailed, 535, "5.7.8", "Authentication credentials invalid"),
        (.encryptionRequiredForMechanism, 538, "5.7.11", "Encryption required for requested authentication mechanism"),
        (.timeout, 421, "4.4.2", "Timeout exceeded, closing connection"),
        (.tooManyErrors, 421, "4.7.0", "Too many errors, closing connection"),
        (.shuttingDown, 421, "4.3.2", "Service shutting down, closing connection"),
        (.localError, 451, "4.3.0", "Local error in processing"),
        (.mailboxFullTemporarily, 452, "4.2.2", "Mailbox full"),
        (.tooManyRecipients, 452, "4.5.3", "Too many recipients"),
        (.tlsNotAvailable, 454, "4.7.0", "TLS not available due to temporary reason"),
        (.unrecognizedCommand, 500, "5.5.2", "Syntax error, command unrecognized"),
        (.lineTooLong, 500, "5.5.6", "Line too long"),
        (.invalidArguments("Syntax: HELO hostname"), 501, "5.5.4", "Syntax: HELO hostname"),
        (.badSenderAddressSyntax("x"), 501, "5.1.7", "Bad sender address syntax: x"),
        (.badRecipientAddressSyntax("x"), 501, "5.1.3", "Bad recipient address syntax: x"),
        (.notImplemented, 502, "5.5.1", "Command not implemented"),
        (.badSequence(), 503, "5.5.1", "Bad sequence of commands"),
        (.badSequence("Need MAIL before RCPT"), 503, "5.5.1", "Need MAIL before RCPT"),
        (.unrecognizedParameter("X-FOO"), 555, "5.5.4", "Unsupported parameter X-FOO"),
        (.noSuchUser, 550, "5.1.1", "No such user"),
        (.nonASCIISenderNotPermitted, 550, "5.6.7", "Non-ASCII addresses require the SMTPUTF8 parameter"),
        (.nonASCIIRecipientNotPermitted, 553, "5.6.7", "Non-ASCII addresses require the SMTPUTF8 parameter"),
        (.messageTooLarge(maximum: 1_000_000), 552, "5.3.4", "Message size exceeds fixed maximum message size of 1000000 bytes"),
        (.mailboxFull, 552, "5.2.2", "Mailbox full"),
        (.senderNotAllowed, 553, "5.7.1", "Sender address not allowed"),
        (.transactionFailed, 554, "5.5.0", "Transaction failed"),
    ]

    @Test("common replies", arguments: constructors)
    func commonReply(_ reply: SMTPReply, _ code: Int, _ enhanced: String?, _ text: String) throws {
        #expect(reply.code == code)
        #expect(reply.enhancedStatusCode?.description == enhanced)
        #expect(reply.text == text)
        // The class of the enhanced code agrees with the reply code (RFC 3463 section 2).
        if let status = reply.enhancedStatusCode { #expect(status.statusClass == code / 100) }
        // What the server writes, a client reads back.
        var parser = SMTPReplyParser()
        var buffer = writer.encode(reply)
        #expect(try parser.parse(&buffer) == reply)
        #expect(buffer.readableBytes == 0)
    }

    @Test func categories() {
        #expect(SMTPReply.ok.category == .positiveCompletion)
        #expect(SMTPReply.startMailInput.category == .positiveIntermediate)
        #expect(SMTPReply.localError.category == .transientNegative)
        #expect(SMTPReply.noSuchUser.category == .permanentNegative)
    }

    @Test func enhancedStatusCodes() {
        #expect(SMTPEnhancedStatusCode("5.1.1") == SMTPEnhancedStatusCode(5, 1, 1))
        #expect(SMTPEnhancedStatusCode("2.7.0")?.description == "2.7.0")
        #expect(SMTPEnhancedStatusCode("5.7.11")?.detail == 11)
        #expect(SMTPEnhancedStatusCode("4.999.999") == SMTPEnhancedStatusCode(4, 999, 999))
        #expect(SMTPEnhancedStatusCode("4.001.01")?.description == "4.1.1")
        for invalid in ["", "5", "5.1", "5.1.1.1", "3.1.1", "1.1.1", "5.1000.1", "5.1.1000", "5..1", "5.1.x", "55.1.1", " 5.1.1",
                        "5.1.", ".5.1.1", "5.1.1.", "5..", "..", "0.0.0", "5.1.1 "] {
            #expect(SMTPEnhancedStatusCode(invalid) == nil)
        }
    }

    // MARK: - reading replies (the client side)

    /// Server lines -> the replies a client reads. RFC 5321 D.1, RFC 4954 section 4.1, RFC 1870,
    /// RFC 3030 section 4.
    static let readVectors: [(String, [SMTPReply])] = [
        ("220 foo.com Simple Mail Transfer Service Ready\r\n",
         [SMTPReply(code: 220, "foo.com Simple Mail Transfer Service Ready")]),
        ("250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n",
         [SMTPReply(code: 250, lines: ["foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP"])]),
        ("250 OK\r\n550 No such user here\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n",
         [SMTPReply(code: 250, "OK"), SMTPReply(code: 550, "No such user here"),
          SMTPReply(code: 354, "Start mail input; end with <CRLF>.<CRLF>")]),
        ("221 foo.com Service closing transmission channel\r\n",
         [SMTPReply(code: 221, "foo.com Service closing transmission channel")]),
        ("235 2.7.0 Authentication successful\r\n",
         [SMTPReply(code: 235, enhancedStatusCode: .init(2, 7, 0), "Authentication successful")]),
        ("334 \r\n", [SMTPReply(code: 334, "")]),
        ("334\r\n", [SMTPReply(code: 334, "")]),
        ("334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n",
         [SMTPReply(code: 334, "PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=")]),
        // RFC 1870 section 8
        ("220 sigurd.innosoft.com -- Server SMTP (PMDF V4.2-6 #1992)\r\n250-sigurd.innosoft.com\r\n250-EXPN\r\n250-HELP\r\n250 SIZE 1000000\r\n",
         [SMTPReply(code: 220, "sigurd.innosoft.com -- Server SMTP (PMDF V4.2-6 #1992)"),
          SMTPReply(code: 250, lines: ["sigurd.innosoft.com", "EXPN", "HELP", "SIZE 1000000"])]),
        ("250 ned@innosoft.com OK; can accomodate 500000 byte message\r\n552 Channel size limit exceeded: ned@YMIR.CLAREMONT.EDU\r\n"
         + "452 Insufficient channel storage: ned@hmcvax.CLAREMONT.EDU\r\n354 Send message, ending in CRLF.CRLF.\r\n",
         [SMTPReply(code: 250, "ned@innosoft.com OK; can accomodate 500000 byte message"),
          SMTPReply(code: 552, "Channel size limit exceeded: ned@YMIR.CLAREMONT.EDU"),
          SMTPReply(code: 452, "Insufficient channel storage: ned@hmcvax.CLAREMONT.EDU"),
          SMTPReply(code: 354, "Send message, ending in CRLF.CRLF.")]),
        ("250 Some recipients OK\r\n221 Goodbye\r\n", [SMTPReply(code: 250, "Some recipients OK"), SMTPReply(code: 221, "Goodbye")]),
        ("250 Message OK, 86 octets received\r\n", [SMTPReply(code: 250, "Message OK, 86 octets received")]),
        // Enhanced codes on every line are removed; a class that disagrees is text.
        ("550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please try again.\r\n",
         [SMTPReply(code: 550, enhancedStatusCode: .init(5, 1, 1),
                    lines: ["The email account that you tried to reach does not exist.", "Please try again."])]),
        ("250 5.1.1 odd\r\n", [SMTPReply(code: 250, "5.1.1 odd")]),
        ("250 2.0.0\r\n", [SMTPReply(code: 250, enhancedStatusCode: .init(2, 0, 0), "")]),
        ("250-first\r\n250 2.0.0 second\r\n", [SMTPReply(code: 250, lines: ["first", "2.0.0 second"])]),
        // Bare LF and empty continuation lines.
        ("250-a\n250-\n250 b\n", [SMTPReply(code: 250, lines: ["a", "", "b"])]),
    ]

    @Test("replies read", arguments: readVectors)
    func readReplies(_ input: String, _ expected: [SMTPReply]) throws {
        let bytes = Array(input.utf8)
        for offset in 0...bytes.count {
            var parser = SMTPReplyParser()
            var replies: [SMTPReply] = []
            for piece in split(bytes, at: [offset]) {
                var buffer = ByteBuffer(bytes: piece)
                while let reply = try parser.parse(&buffer) { replies.append(reply) }
                #expect(buffer.readableBytes == 0)
            }
            #expect(replies == expected)
        }
    }

    @Test("malformed replies", arguments: [
        ("hello\r\n", SMTPReplyParseError.Kind.malformedLine),
        ("25\r\n", .malformedLine),
        ("2500 x\r\n", .malformedLine),
        ("250_x\r\n", .malformedLine),
        ("650 x\r\n", .malformedLine),
        ("160 x\r\n", .malformedLine),
        ("260 x\r\n", .malformedLine),
        ("250-a\r\n251 b\r\n", .inconsistentCode),
    ])
    func malformedReply(_ input: String, _ kind: SMTPReplyParseError.Kind) throws {
        var parser = SMTPReplyParser()
        var buffer = ByteBuffer(string: input)
        let error = #expect(throws: SMTPReplyParseError.self) { try parser.parse(&buffer) }
        #expect(error?.kind == kind)
        // After an error the parser starts afresh.
        var next = ByteBuffer(string: "221 bye\r\n")
        #expect(try parser.parse(&next) == SMTPReply(code: 221, "bye"))
    }
}
