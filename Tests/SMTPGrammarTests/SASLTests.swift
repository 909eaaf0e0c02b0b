import NIOCore
import Testing
@testable import SMTPGrammar

/// SASL for AUTH: base64 (RFC 4648), PLAIN (RFC 4616), LOGIN, cancellation (RFC 4954).
@Suite("SASL")
struct SASLTests {
    /// RFC 4648 section 10.
    static let base64Vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    @Test("base64 vectors", arguments: base64Vectors)
    func base64(_ plain: String, _ encoded: String) {
        #expect(SASL.Base64.encode(Array(plain.utf8)) == encoded)
        #expect(SASL.Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func base64AllBytes() {
        let bytes = Array(0...255).map(UInt8.init)
        for length in 0...bytes.count {
            let slice = Array(bytes[0..<length])
            #expect(SASL.Base64.decode(SASL.Base64.encode(slice)) == slice)
        }
    }

    @Test("strict base64 refuses", arguments: [
        "Zg", "Zg=", "Zm9", "Z===", "=Zg=", "Zg==Zg==", "AAA=BBBB", "=AAA", "Zm 9v", "Zm9v\r\n", " Zm9v", "Zm9v ",
        "Zm9-", "Zm9_", "Zm9v!", "Zh==", "Zm9=", "Zm8==", "Zg=a",
    ])
    func base64Refused(_ text: String) {
        #expect(SASL.Base64.decode(text) == nil)
    }

    // MARK: - PLAIN

    @Test func plainFromRFC4954() throws {
        // RFC 4954 section 4.1: "dGVzdAB0ZXN0ADEyMzQ=" is "test\0test\01234".
        let message = try #require(SASL.Base64.decode("dGVzdAB0ZXN0ADEyMzQ="))
        #expect(try SASL.Credentials(plainMessage: message) == SASL.Credentials(username: "test", password: "1234"))
    }

    @Test func plainFromRFC4616() throws {
        // Section 4: an empty authorization identity.
        let tim = try SASL.Credentials(plainMessage: Array("\0tim\0tanstaaftanstaaf".utf8))
        #expect(tim == SASL.Credentials(username: "tim", password: "tanstaaftanstaaf"))
        // Section 4: Kurt acting as Ursel is an authorization this server does not grant.
        #expect(throws: SASLError(.authorizationIdentityNotPermitted, "PLAIN authorization identity differs from the user name")) {
            try SASL.Credentials(plainMessage: Array("Ursel\0Kurt\0xipj3plmq".utf8))
        }
    }

    @Test func plainRoundTrip() throws {
        let credentials = SASL.Credentials(username: "ünïcode@example.com", password: "pässwörd with spaces")
        #expect(credentials.plainMessage.first == 0)
        #expect(try SASL.Credentials(plainMessage: credentials.plainMessage) == credentials)
    }

    @Test("malformed PLAIN messages", arguments: [
        "", "user", "\0user", "\0user\0", "\0\0password", "a\0b\0c\0d", "\0user\0pass\0", "user\0user",
    ])
    func plainMalformed(_ message: String) {
        let error = #expect(throws: SASLError.self) { try SASL.Credentials(plainMessage: Array(message.utf8)) }
        #expect(error?.kind == .malformedCredentials)
        #expect(error?.reply == .authenticationFailed)
    }

    @Test func plainNotUTF8() {
        let error = #expect(throws: SASLError.self) { try SASL.Credentials(plainMessage: [0, 0xFF, 0, 0x61]) }
        #expect(error?.kind == .malformedCredentials)
    }

    @Test func plainWithOwnAuthorizationIdentity() throws {
        #expect(try SASL.Credentials(plainMessage: Array("tim\0tim\0secret".utf8)).username == "tim")
    }

    @Test func credentialsNeverPrintThePassword() {
        let credentials = SASL.Credentials(username: "tim", password: "hunter2")
        #expect(!"\(credentials)".contains("hunter2"))
        #expect(!String(reflecting: credentials).contains("hunter2"))
        #expect("\(credentials)".contains("tim"))
    }

    // MARK: - responses and cancellation (RFC 4954 section 4)

    @Test func clientResponses() throws {
        #expect(try SASL.ClientResponse(line: "dGVzdAB0ZXN0ADEyMzQ=") == .data(Array("test\0test\01234".utf8)))
        #expect(try SASL.ClientResponse(line: "") == .data([]))
        #expect(try SASL.ClientResponse(line: "*") == .cancel)
        let error = #expect(throws: SASLError.self) { try SASL.ClientResponse(line: "**") }
        #expect(error?.reply == SMTPReply(code: 501, enhancedStatusCode: .init(5, 5, 2), "Invalid base64 data"))
        #expect(SASLError(.cancelled, "").reply == SMTPReply(code: 501, enhancedStatusCode: .init(5, 0, 0), "Authentication cancelled"))
    }

    @Test func initialResponseWireForm() {
        #expect(SASL.InitialResponse.empty.wireForm == "=")
        #expect(SASL.InitialResponse.data([]).wireForm == "=")
        #expect(SASL.InitialResponse.data(Array("test\0test\01234".utf8)).wireForm == "dGVzdAB0ZXN0ADEyMzQ=")
        #expect(SASL.InitialResponse.empty.bytes == [])
    }

    // MARK: - LOGIN

    @Test func loginPrompts() {
        #expect(SASL.Base64.decode(SASL.LoginExchange.usernamePrompt) == Array("Username:".utf8))
        #expect(SASL.Base64.decode(SASL.LoginExchange.passwordPrompt) == Array("Password:".utf8))
    }

    @Test func loginExchange() {
        var exchange = SASL.LoginExchange()
        #expect(exchange.start(initialResponse: nil) == .sendChallenge(SMTPReply(code: 334, "VXNlcm5hbWU6")))
        #expect(exchange.receive(Array("dGVzdA==".utf8)) == .sendChallenge(SMTPReply(code: 334, "UGFzc3dvcmQ6")))
        #expect(exchange.receive(Array("MTIzNA==".utf8)) == .authenticate(SASL.Credentials(username: "test", password: "1234")))
        // The exchange is over: another line is a failure, not a second login.
        guard case .fail = exchange.receive(Array("MTIzNA==".utf8)) else {
            Issue.record("a finished exchange accepted another line")
            return
        }
    }

    @Test func loginWithInitialResponse() {
        var exchange = SASL.LoginExchange()
        #expect(exchange.start(initialResponse: .data(Array("test".utf8))) == .sendChallenge(SMTPReply(code: 334, "UGFzc3dvcmQ6")))
        #expect(exchange.receive(Array("MTIzNA==".utf8)) == .authenticate(SASL.Credentials(username: "test", password: "1234")))
        var empty = SASL.LoginExchange()
        guard case .fail(let error) = empty.start(initialResponse: .empty) else {
            Issue.record("an empty user name was accepted")
            return
        }
        #expect(error.kind == .malformedCredentials)
    }

    @Test func loginCancelledAndInvalid() {
        var cancelled = SASL.LoginExchange()
        _ = cancelled.start(initialResponse: nil)
        #expect(cancelled.receive(Array("*".utf8)) == .fail(SASLError(.cancelled, "client cancelled")))
        var invalid = SASL.LoginExchange()
        _ = invalid.start(initialResponse: nil)
        guard case .fail(let error) = invalid.receive(Array("not base64!".utf8)) else {
            Issue.record("invalid base64 was accepted")
            return
        }
        #expect(error.reply == .invalidBase64)
        var emptyPassword = SASL.LoginExchange()
        _ = emptyPassword.start(initialResponse: .data(Array("test".utf8)))
        guard case .fail(let passwordError) = emptyPassword.receive([UInt8]()) else {
            Issue.record("an empty password was accepted")
            return
        }
        #expect(passwordError.reply == .authenticationFailed)
    }

    @Test func authPlainSessionFlow() throws {
        // RFC 4954 section 4.1, the exchange without an initial response, through the reader.
        var reader = SMTPLineReader()
        let parser = SMTPCommandParser()
        var buffer = ByteBuffer(string: "AUTH PLAIN\r\n")
        guard case .line(let line) = reader.next(&buffer) else {
            Issue.record("no line")
            return
        }
        #expect(try parser.parse(line) == .auth(mechanism: "PLAIN", initialResponse: nil))
        #expect(SMTPReplyWriter().encode(.authenticationChallenge([])).text == "334 \r\n")
        reader.mode = .saslResponse
        var response = ByteBuffer(string: "dGVzdAB0ZXN0ADEyMzQ=\r\n")
        guard case .line(let responseLine) = reader.next(&response),
              case .data(let message) = try SASL.ClientResponse(line: responseLine.readableBytesView) else {
            Issue.record("no response")
            return
        }
        #expect(try SASL.Credentials(plainMessage: message).username == "test")
        #expect(SMTPReplyWriter().encode(.authenticationSucceeded).text == "235 2.7.0 Authentication successful\r\n")
    }
}
