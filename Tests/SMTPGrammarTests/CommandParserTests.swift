import NIOCore
import Testing
@testable import SMTPGrammar

/// Command line -> expected command. Vectors from RFC 5321 appendix D (D.1 typical transaction,
/// D.2 aborted transaction, D.3 relayed mail, D.4 verifying and sending) and section 3.5,
/// RFC 3030 section 4 (BDAT), RFC 4954 sections 4.1 and 5.1 (AUTH), RFC 1870 (SIZE), RFC 6152
/// (8BITMIME), RFC 6531 (SMTPUTF8), RFC 3207 (STARTTLS) and RFC 3461 (DSN).
let commandVectors: [(String, SMTPCommand)] = [
    // RFC 5321 D.1
    ("EHLO bar.com", .ehlo("bar.com")),
    ("MAIL FROM:<Smith@bar.com>", .mailFrom(reversePath: mailbox("Smith@bar.com"), parameters: MailParameters())),
    ("RCPT TO:<Jones@foo.com>", .rcptTo(forwardPath: mailbox("Jones@foo.com"), parameters: RcptParameters())),
    ("RCPT TO:<Green@foo.com>", .rcptTo(forwardPath: mailbox("Green@foo.com"), parameters: RcptParameters())),
    ("DATA", .data),
    ("QUIT", .quit),
    // D.2
    ("RSET", .rset),
    // D.3
    ("EHLO foo.com", .ehlo("foo.com")),
    ("MAIL FROM:<JQP@bar.com>", .mailFrom(reversePath: mailbox("JQP@bar.com"), parameters: MailParameters())),
    ("RCPT TO:<Jones@XYZ.COM>", .rcptTo(forwardPath: mailbox("Jones@XYZ.COM"), parameters: RcptParameters())),
    // D.4
    ("VRFY Crispin", .vrfy("Crispin")),
    ("MAIL FROM:<EAK@bar.com>", .mailFrom(reversePath: mailbox("EAK@bar.com"), parameters: MailParameters())),
    ("RCPT TO:<Admin.MRC@foo.com>", .rcptTo(forwardPath: mailbox("Admin.MRC@foo.com"), parameters: RcptParameters())),
    // Section 3.5 and 4.1.1
    ("VRFY Smith", .vrfy("Smith")),
    ("VRFY <Smith@example.com>", .vrfy("<Smith@example.com>")),
    ("EXPN Example-People", .expn("Example-People")),
    ("HELP", .help(nil)),
    ("HELP MAIL", .help("MAIL")),
    ("NOOP", .noop),
    ("NOOP anything at all", .noop),
    ("HELO relay.example.org", .helo("relay.example.org")),
    ("EHLO [192.0.2.1]", .ehlo("[192.0.2.1]")),
    ("EHLO my_host", .ehlo("my_host")),
    // Null reverse path (bounces), Postmaster, source routes (appendix C)
    ("MAIL FROM:<>", .mailFrom(reversePath: nil, parameters: MailParameters())),
    ("RCPT TO:<Postmaster>", .rcptTo(forwardPath: .postmaster, parameters: RcptParameters())),
    ("RCPT TO:<postmaster>", .rcptTo(forwardPath: .postmaster, parameters: RcptParameters())),
    ("RCPT TO:<Postmaster@foo.com>", .rcptTo(forwardPath: mailbox("Postmaster@foo.com"), parameters: RcptParameters())),
    ("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>", .rcptTo(forwardPath: mailbox("userc@d.bar.org"), parameters: RcptParameters())),
    ("MAIL FROM:<@a.example:user@b.example>", .mailFrom(reversePath: mailbox("user@b.example"), parameters: MailParameters())),
    // Leniency: case, a space after the colon, trailing spaces, bare LF, runs of spaces
    ("mail from:<a@b.example>", .mailFrom(reversePath: mailbox("a@b.example"), parameters: MailParameters())),
    ("Rcpt To:<a@b.example>", .rcptTo(forwardPath: mailbox("a@b.example"), parameters: RcptParameters())),
    ("MAIL FROM: <a@b.example>", .mailFrom(reversePath: mailbox("a@b.example"), parameters: MailParameters())),
    ("RCPT TO: <a@b.example>", .rcptTo(forwardPath: mailbox("a@b.example"), parameters: RcptParameters())),
    ("QUIT   ", .quit),
    ("quit\r\n", .quit),
    ("quit\n", .quit),
    ("MAIL FROM:<a@b.example>  SIZE=10   BODY=7BIT", .mailFrom(reversePath: mailbox("a@b.example"), parameters: MailParameters(size: 10, body: .sevenBit))),
    // RFC 1870 section 8
    ("EHLO ymir.claremont.edu", .ehlo("ymir.claremont.edu")),
    ("MAIL FROM:<ned@thor.innosoft.com> SIZE=500000",
     .mailFrom(reversePath: mailbox("ned@thor.innosoft.com"), parameters: MailParameters(size: 500000))),
    ("RCPT TO:<ned@innosoft.com>", .rcptTo(forwardPath: mailbox("ned@innosoft.com"), parameters: RcptParameters())),
    ("RCPT TO:<ned@hmcvax.claremont.edu>", .rcptTo(forwardPath: mailbox("ned@hmcvax.claremont.edu"), parameters: RcptParameters())),
    ("MAIL FROM:<a@b.example> SIZE=0", .mailFrom(reversePath: mailbox("a@b.example"), parameters: MailParameters(size: 0))),
    ("MAIL FROM:<a@b.example> size=99999999999999999999",
     .mailFrom(reversePath: mailbox("a@b.example"), parameters: MailParameters(size: Int.max))),
    // RFC 6152 and RFC 3030
    ("MAIL FROM:<ned@ymir.claremont.edu> BODY=8BITMIME",
     .mailFrom(reversePath: mailbox("ned@ymir.claremont.edu"), parameters: MailParameters(body: .eightBitMIME))),
    ("MAIL FROM:<Sam@Random.com> BODY=BINARYMIME",
     .mailFrom(reversePath: mailbox("Sam@Random.com"), parameters: MailParameters(body: .binaryMIME))),
    ("MAIL FROM:<a@b.example> body=8bitmime", .mailFrom(reversePath: mailbox("a@b.example"), parameters: MailParameters(body: .eightBitMIME))),
    ("BDAT 86 LAST", .bdat(size: 86, last: true)),
    ("BDAT 100000", .bdat(size: 100000, last: false)),
    ("BDAT 0 LAST", .bdat(size: 0, last: true)),
    ("bdat 324 last", .bdat(size: 324, last: true)),
    ("BDAT  69  LAST", .bdat(size: 69, last: true)),
    // RFC 6531
    ("MAIL FROM:<用户@例子.广告> SMTPUTF8",
     .mailFrom(reversePath: .mailbox(SMTPAddress(localPart: "用户", domain: .name("例子.广告"))), parameters: MailParameters(smtpUTF8: true))),
    ("RCPT TO:<θσερ@παράδειγμα.δοκιμή>", .rcptTo(forwardPath: .mailbox(SMTPAddress(localPart: "θσερ", domain: .name("παράδειγμα.δοκιμή"))), parameters: RcptParameters())),
    ("MAIL FROM:<a@b.example> SMTPUTF8", .mailFrom(reversePath: mailbox("a@b.example"), parameters: MailParameters(smtpUTF8: true))),
    // RFC 4954 section 5.1
    ("MAIL FROM:<e=mc2@example.com> AUTH=e+3Dmc2@example.com",
     .mailFrom(reversePath: mailbox("e=mc2@example.com"), parameters: MailParameters(auth: "e+3Dmc2@example.com"))),
    ("MAIL FROM:<john+@example.org> AUTH=<>", .mailFrom(reversePath: mailbox("john+@example.org"), parameters: MailParameters(auth: "<>"))),
    // RFC 3461
    ("MAIL FROM:<Alice@Example.ORG> RET=HDRS ENVID=QQ314159",
     .mailFrom(reversePath: mailbox("Alice@Example.ORG"), parameters: MailParameters(ret: "HDRS", envid: "QQ314159"))),
    ("RCPT TO:<Bob@Example.COM> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Example.COM",
     .rcptTo(forwardPath: mailbox("Bob@Example.COM"), parameters: RcptParameters(notify: "SUCCESS,FAILURE", orcpt: "rfc822;Bob@Example.COM"))),
    ("RCPT TO:<Carol@Ivory.EDU> NOTIFY=NEVER", .rcptTo(forwardPath: mailbox("Carol@Ivory.EDU"), parameters: RcptParameters(notify: "NEVER"))),
    ("RCPT TO:<a@b.example> NOTIFY=delay", .rcptTo(forwardPath: mailbox("a@b.example"), parameters: RcptParameters(notify: "delay"))),
    // Unknown parameters are kept, in order, for the session to refuse
    ("MAIL FROM:<a@b.example> X-FOO=bar SIZE=1 x-flag",
     .mailFrom(reversePath: mailbox("a@b.example"), parameters: MailParameters(
        size: 1, unrecognized: [ESMTPParameter(keyword: "X-FOO", value: "bar"), ESMTPParameter(keyword: "X-FLAG")]))),
    ("RCPT TO:<a@b.example> RRVS=2014-04-03T23:01:00Z",
     .rcptTo(forwardPath: mailbox("a@b.example"), parameters: RcptParameters(unrecognized: [ESMTPParameter(keyword: "RRVS", value: "2014-04-03T23:01:00Z")]))),
    // RFC 3207
    ("STARTTLS", .startTLS),
    ("starttls", .startTLS),
    // RFC 4954 section 4.1
    ("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=", .auth(mechanism: "PLAIN", initialResponse: .data(Array("test\0test\01234".utf8)))),
    ("AUTH PLAIN", .auth(mechanism: "PLAIN", initialResponse: nil)),
    ("AUTH CRAM-MD5", .auth(mechanism: "CRAM-MD5", initialResponse: nil)),
    ("AUTH EXTERNAL =", .auth(mechanism: "EXTERNAL", initialResponse: .empty)),
    ("auth login", .auth(mechanism: "LOGIN", initialResponse: nil)),
    ("AUTH SCRAM-SHA-256-PLUS", .auth(mechanism: "SCRAM-SHA-256-PLUS", initialResponse: nil)),
    ("AUTH X_VENDOR", .auth(mechanism: "X_VENDOR", initialResponse: nil)),
]

@Test("commands parse", arguments: commandVectors)
func commandParses(_ line: String, _ expected: SMTPCommand) throws {
    #expect(try SMTPCommandParser().parse(line) == expected)
}

@Test("commands parse from a ByteBuffer with CRLF", arguments: commandVectors)
func commandParsesFromBuffer(_ line: String, _ expected: SMTPCommand) throws {
    let sent = line.utf8.last == UInt8(ascii: "\n") ? line : line + "\r\n"
    #expect(try SMTPCommandParser().parse(ByteBuffer(string: sent)) == expected)
}

@Test("written commands parse back to themselves", arguments: commandVectors)
func commandRoundTrips(_ line: String, _ expected: SMTPCommand) throws {
    var buffer = ByteBuffer()
    expected.write(into: &buffer)
    #expect(buffer.text.hasSuffix("\r\n"))
    #expect(try SMTPCommandParser().parse(buffer) == expected)
}

@Test("commands are written in canonical form")
func commandWireForms() {
    func written(_ command: SMTPCommand) -> String {
        var buffer = ByteBuffer()
        command.write(into: &buffer)
        return buffer.text
    }
    #expect(written(.mailFrom(reversePath: nil, parameters: MailParameters(size: 12, body: .eightBitMIME, smtpUTF8: true)))
            == "MAIL FROM:<> SIZE=12 BODY=8BITMIME SMTPUTF8\r\n")
    #expect(written(.rcptTo(forwardPath: .postmaster, parameters: RcptParameters(notify: "NEVER"))) == "RCPT TO:<Postmaster> NOTIFY=NEVER\r\n")
    #expect(written(.rcptTo(forwardPath: .mailbox(SMTPAddress(localPart: "john doe", domain: .name("x.example"))), parameters: RcptParameters()))
            == "RCPT TO:<\"john doe\"@x.example>\r\n")
    #expect(written(.bdat(size: 86, last: true)) == "BDAT 86 LAST\r\n")
    #expect(written(.auth(mechanism: "PLAIN", initialResponse: .data(Array("\0test\01234".utf8)))) == "AUTH PLAIN AHRlc3QAMTIzNA==\r\n")
    #expect(written(.auth(mechanism: "EXTERNAL", initialResponse: .empty)) == "AUTH EXTERNAL =\r\n")
    #expect(written(.help(nil)) == "HELP\r\n")
}

@Test("verbs name commands without their arguments")
func verbs() {
    #expect(SMTPCommand.auth(mechanism: "PLAIN", initialResponse: .data([1, 2])).verb == "AUTH")
    #expect(SMTPCommand.mailFrom(reversePath: nil, parameters: MailParameters()).verb == "MAIL")
    #expect(SMTPCommand.startTLS.verb == "STARTTLS")
}

/// Malformed line -> the error kind and the reply code and enhanced code it deserves.
let malformedVectors: [(String, SMTPCommandError.Kind, Int, String)] = [
    // 500 5.5.2: nothing recognisable
    ("", .syntax, 500, "5.5.2"),
    ("   ", .syntax, 500, "5.5.2"),
    ("FOO bar", .unrecognizedCommand, 500, "5.5.2"),
    ("MAILFROM:<a@b.example>", .unrecognizedCommand, 500, "5.5.2"),
    (" MAIL FROM:<a@b.example>", .unrecognizedCommand, 500, "5.5.2"),
    ("SEND FROM:<a@b.example>", .unrecognizedCommand, 500, "5.5.2"),
    ("\u{1}QUIT", .unrecognizedCommand, 500, "5.5.2"),
    ("QUIT\u{0}", .unrecognizedCommand, 500, "5.5.2"),
    ("GET / HTTP/1.1", .unrecognizedCommand, 500, "5.5.2"),
    // 501 5.5.4: a known verb with bad arguments
    ("EHLO", .invalidArguments, 501, "5.5.4"),
    ("HELO ", .invalidArguments, 501, "5.5.4"),
    ("EHLO two words", .invalidArguments, 501, "5.5.4"),
    ("EHLO bad\u{7F}", .invalidArguments, 501, "5.5.4"),
    ("EHLO caf\u{E9}.example", .invalidArguments, 501, "5.5.4"),
    ("DATA now", .invalidArguments, 501, "5.5.4"),
    ("RSET x", .invalidArguments, 501, "5.5.4"),
    ("QUIT now", .invalidArguments, 501, "5.5.4"),
    ("STARTTLS x", .invalidArguments, 501, "5.5.4"),
    ("VRFY", .invalidArguments, 501, "5.5.4"),
    ("EXPN", .invalidArguments, 501, "5.5.4"),
    ("VRFY a\tb", .invalidArguments, 501, "5.5.4"),
    ("MAIL", .invalidArguments, 501, "5.5.4"),
    ("MAIL TO:<a@b.example>", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM <a@b.example>", .invalidArguments, 501, "5.5.4"),
    ("RCPT", .invalidArguments, 501, "5.5.4"),
    ("RCPT FROM:<a@b.example>", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example>SIZE=1", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> SIZE", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> SIZE=", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> SIZE=12a", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> SIZE=-1", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> SIZE=1 SIZE=2", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> BODY=9BIT", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> SMTPUTF8=yes", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> AUTH=a+zz", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> RET=ALL", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> ENVID=a+4", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> =x", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> -X=1", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> X_Y=1", .invalidArguments, 501, "5.5.4"),
    ("MAIL FROM:<a@b.example> X=a=b", .invalidArguments, 501, "5.5.4"),
    ("RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS", .invalidArguments, 501, "5.5.4"),
    ("RCPT TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS", .invalidArguments, 501, "5.5.4"),
    ("RCPT TO:<a@b.example> NOTIFY=", .invalidArguments, 501, "5.5.4"),
    ("RCPT TO:<a@b.example> ORCPT=Bob@Example.COM", .invalidArguments, 501, "5.5.4"),
    ("RCPT TO:<a@b.example> ORCPT=;Bob@Example.COM", .invalidArguments, 501, "5.5.4"),
    ("AUTH", .invalidArguments, 501, "5.5.4"),
    ("AUTH PLAIN dGVzdA== extra", .invalidBase64, 501, "5.5.2"),
    ("AUTH PL@IN", .invalidArguments, 501, "5.5.4"),
    ("AUTH ABCDEFGHIJKLMNOPQRSTU", .invalidArguments, 501, "5.5.4"),
    // 501 5.5.2: the initial response is not strict base64 (RFC 4954 section 4)
    ("AUTH PLAIN dGVzdA", .invalidBase64, 501, "5.5.2"),
    ("AUTH PLAIN =AAA", .invalidBase64, 501, "5.5.2"),
    ("AUTH PLAIN AAA=BBBB", .invalidBase64, 501, "5.5.2"),
    ("AUTH PLAIN dG Vz", .invalidBase64, 501, "5.5.2"),
    ("AUTH PLAIN ==", .invalidBase64, 501, "5.5.2"),
    // 501 5.1.7 / 5.1.3: addresses
    ("MAIL FROM:a@b.example", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a@b.example", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<Postmaster>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:  <a@b.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a..b@c.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<.a@c.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a.@c.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a b@c.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a@-c.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a@c-.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a@c..example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a@c.example.>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a@c_d.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a@[1.2.3]>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<a@b@c.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<\"unterminated@c.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<@a.example user@b.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("MAIL FROM:<@a.example,user@b.example>", .invalidSenderAddress(.syntax), 501, "5.1.7"),
    ("RCPT TO:<>", .invalidRecipientAddress(.syntax), 501, "5.1.3"),
    ("RCPT TO:<Postmaster@>", .invalidRecipientAddress(.syntax), 501, "5.1.3"),
    ("RCPT TO:<a@b.example", .invalidRecipientAddress(.syntax), 501, "5.1.3"),
    ("RCPT TO:a@b.example", .invalidRecipientAddress(.syntax), 501, "5.1.3"),
    ("RCPT TO:<user>", .invalidRecipientAddress(.syntax), 501, "5.1.3"),
    // 550 5.6.7: RFC 6531 section 3.5
    ("MAIL FROM:<用户@例子.广告>", .nonASCIISenderWithoutSMTPUTF8, 550, "5.6.7"),
    ("MAIL FROM:<user@例子.广告> BODY=8BITMIME", .nonASCIISenderWithoutSMTPUTF8, 550, "5.6.7"),
]

@Test("malformed commands get the reply they deserve", arguments: malformedVectors)
func malformedCommand(_ line: String, _ kind: SMTPCommandError.Kind, _ code: Int, _ enhanced: String) {
    let error = parseError(line)
    #expect(error?.kind == kind)
    #expect(error?.reply.code == code)
    #expect(error?.reply.enhancedStatusCode?.description == enhanced)
    #expect(error?.closesConnection == false)
}

@Test("a BDAT whose size cannot be read closes the connection",
      arguments: ["BDAT", "BDAT x", "BDAT 12 FIRST", "BDAT 12 LAST now", "BDAT -1", "BDAT 99999999999999999999", "BDAT LAST"])
func malformedBDAT(_ line: String) {
    let error = parseError(line)
    #expect(error?.kind == .invalidArguments)
    #expect(error?.reply.code == 501)
    #expect(error?.closesConnection == true)
}

@Test("invalid UTF-8 is refused wherever UTF-8 is allowed")
func invalidUTF8() {
    let parser = SMTPCommandParser()
    func error(_ bytes: [UInt8]) -> SMTPCommandError? {
        do { _ = try parser.parse(bytes); return nil } catch { return error }
    }
    let mail = Array("MAIL FROM:<".utf8)
    // A lone continuation byte, an overlong encoding, a surrogate, a truncated sequence.
    for bad: [UInt8] in [[0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE4, 0xB8]] {
        #expect(error(mail + bad + Array("@x.example> SMTPUTF8".utf8))?.kind == .invalidSenderAddress(.syntax))
        #expect(error(Array("VRFY ".utf8) + bad)?.kind == .invalidArguments)
        #expect(error(Array("MAIL FROM:<a@b.example> X=".utf8) + bad)?.kind == .invalidArguments)
    }
}

@Test("address errors name the part that is too long")
func addressErrorMessages() {
    let local = String(repeating: "a", count: 65)
    let error = parseError("RCPT TO:<\(local)@b.example>")
    #expect(error?.kind == .invalidRecipientAddress(.localPartTooLong))
    #expect(error?.reply.text == "Bad recipient address syntax: local part longer than 64 octets")
}

@Test("the session refuses unknown parameters with 555")
func unrecognizedParameterReply() throws {
    guard case .mailFrom(_, let parameters) = try SMTPCommandParser().parse("MAIL FROM:<a@b.example> X-FOO=1") else {
        Issue.record("not a MAIL command")
        return
    }
    let error = SMTPCommandError.unrecognizedParameter(parameters.unrecognized[0])
    #expect(error.reply == SMTPReply(code: 555, enhancedStatusCode: .init(5, 5, 4), "Unsupported parameter X-FOO"))
    #expect(SMTPReply.unrecognizedParameter("X-FOO") == error.reply)
}
