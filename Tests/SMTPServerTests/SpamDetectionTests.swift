import MIME
import MailCore
import MailPipeline
import NIOCore
import NIOPosix
import Testing

@testable import SMTPServer

/// Spam detection's parts: the DNS messages of a DNSBL lookup (RFC 1035 4, RFC 5782), the header
/// checks and the verdict, and the resolver against a real UDP socket that never answers.
@Suite struct SpamDetectionTests {
    // MARK: DNS messages

    /// RFC 1035 4.1: header (id, RD), one question, labels, QTYPE A, QCLASS IN.
    @Test func queryIsOneQuestionForARecords() throws {
        let query = try DNSMessage.query(id: 0xBEEF, name: "2.0.0.127.zen.example")
        #expect(query == [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                          1, 0x32, 1, 0x30, 1, 0x30, 3, 0x31, 0x32, 0x37, 3, 0x7A, 0x65, 0x6E, 7] + Array("example".utf8) + [0, 0, 1, 0, 1])
        #expect(try DNSMessage.query(id: 1, name: "a.example.") == DNSMessage.query(id: 1, name: "a.example"))
    }

    @Test(arguments: ["", ".", "a..b", String(repeating: "x", count: 64) + ".test", String(repeating: "abcdefghi.", count: 26) + "test"])
    func badNamesAreRefused(_ name: String) {
        #expect(throws: DNSMessage.InvalidName.self) { try DNSMessage.query(id: 1, name: name) }
    }

    /// A response as a server writes it: the question echoed, the answer's name a compression pointer.
    static func response(id: UInt16, rcode: UInt8, answers: [[UInt8]], truncated: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x81 | (truncated ? 0x02 : 0), 0x80 | rcode, 0, 1, 0, UInt8(answers.count), 0, 0, 0, 0]
        bytes += [1, 0x32, 3] + Array("zen".utf8) + [0, 0, 1, 0, 1]
        for address in answers {
            bytes += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 4] + address
        }
        return bytes
    }

    @Test func answersCarryTheirCodeAndAddresses() throws {
        let listed = try DNSMessage.parse(Self.response(id: 7, rcode: 0, answers: [[127, 0, 0, 2], [127, 0, 0, 4]]))
        #expect(listed == DNSMessage.Answer(id: 7, question: [1, 0x32, 3] + Array("zen".utf8) + [0, 0, 1, 0, 1], code: .noError,
                                            addresses: [[127, 0, 0, 2], [127, 0, 0, 4]], truncated: false))
        let absent = try DNSMessage.parse(Self.response(id: 8, rcode: 3, answers: []))
        #expect(absent.code == .nameError && absent.addresses.isEmpty)
        #expect(try DNSMessage.parse(Self.response(id: 9, rcode: 2, answers: [])).code == .other(2))
        #expect(try DNSMessage.parse(Self.response(id: 9, rcode: 0, answers: [], truncated: true)).truncated)
    }

    @Test func brokenAnswersAreErrorsNotCrashes() {
        let whole = Self.response(id: 7, rcode: 0, answers: [[127, 0, 0, 2]])
        for length in 0..<whole.count {
            #expect(throws: DNSMessage.ParseError.self) { try DNSMessage.parse(Array(whole.prefix(length))) }
        }
        var query = whole
        query[2] = 0x01  // QR clear: a query, not a response
        #expect(throws: DNSMessage.ParseError.notAResponse) { try DNSMessage.parse(query) }
        var badLabel = whole
        badLabel[12] = 0x80  // a label type RFC 1035 reserves
        #expect(throws: DNSMessage.ParseError.badName) { try DNSMessage.parse(badLabel) }
    }

    /// RFC 5782 2.1 (IPv4 octets reversed) and 2.4 (IPv6 nibbles reversed).
    @Test(arguments: [
        ("192.0.2.99", "99.2.0.192.bl.example"),
        ("2001:db8:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example"),
        ("::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example"),
        ("::ffff:192.0.2.1", "1.2.0.192.bl.example"),
        ("::ffff:c000:201", "1.2.0.192.bl.example"),
    ])
    func dnsblNamesReverseTheAddress(_ address: String, _ name: String) {
        #expect(DNSMessage.dnsblName(for: address, zone: "bl.example") == name)
    }

    @Test(arguments: ["192.0.2", "192.0.2.256", "1:2:3", "1::2::3", "example.com", "", "1.2.3.4.5", "12345::"])
    func notAnAddressHasNoDNSBLName(_ address: String) {
        #expect(DNSMessage.dnsblName(for: address, zone: "bl.example") == nil)
    }

    /// A server that never answers costs the deadline, then the lookup fails; nothing blocks (the
    /// time limit catches a deadline that never fires; how soon it fires is not asserted, since a
    /// busy machine delays timers).
    @Test(.timeLimit(.minutes(1))) func aSilentServerTimesOut() async throws {
        let silent = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let resolver = DNSResolver(servers: [silent.localAddress!], timeout: .milliseconds(200))
        await #expect(throws: DNSResolver.Failure.timedOut) { _ = try await resolver.lookup("2.0.0.127.bl.example") }
        let checker = DNSBLChecker(zones: ["bl.example"], score: 5, resolver: resolver)
        let checks = await checker.checks(forClient: "192.0.2.1")
        #expect(checks.map(\.name) == ["DNSBL_BL_EXAMPLE_UNAVAILABLE"] && checks[0].score == 0)
    }

    /// A server that answers: a reply with another id or question is not taken for the answer;
    /// the right one is, and a listing becomes a check.
    @Test func theAnswerToTheQueryIsTaken() async throws {
        let server = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Responder()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let resolver = DNSResolver(servers: [server.localAddress!], timeout: .seconds(5))
        let answer = try await resolver.lookup("2.0.0.127.bl.example")
        #expect(answer.addresses == [[127, 0, 0, 2]])
        let checker = DNSBLChecker(zones: ["bl.example"], score: 4.5, resolver: resolver)
        let checks = await checker.checks(forClient: "127.0.0.2")
        #expect(checks.map(\.name) == ["DNSBL_BL_EXAMPLE"] && checks[0].score == 4.5 && checks[0].detail.contains("127.0.0.2"))
        #expect(await checker.checks(forClient: "192.0.2.7").isEmpty)
    }

    /// Answers each query three times: first with a wrong id, then with a wrong question, then
    /// rightly (127.0.0.2 for 2.0.0.127.*, NXDOMAIN otherwise).
    final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let query = Array(envelope.data.readableBytesView)
            guard query.count > 12 else { return }
            let listed = query[12...].starts(with: [1, 0x32, 1, 0x30, 1, 0x30, 3, 0x31, 0x32, 0x37])
            var right: [UInt8] = Array(query[0..<2]) + [0x81, listed ? 0x80 : 0x83, 0, 1, 0, listed ? 1 : 0, 0, 0, 0, 0] + Array(query[12...])
            if listed { right += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 2] }
            var wrongID = right
            wrongID[1] ^= 0xFF
            var wrongQuestion = right
            wrongQuestion[13] = 0x39
            for reply in [wrongID, wrongQuestion, right] {
                context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: reply))),
                              promise: nil)
            }
            context.flush()
        }
    }

    // MARK: Header checks

    static let wellFormed = "From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nSubject: Hi\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
        + "Message-ID: <a1@example.com>\r\n\r\nHello.\r\n"
    static let now: Int64 = 1_796_000_000  // 2026-11-30

    static func names(_ text: String, sender: String = "ann@example.com") -> [String] {
        HeaderAnomalies.checks(MIMEMessage(parsing: Array(text.utf8)), envelopeSender: sender, now: now).map(\.name)
    }

    static func variant(_ of: String, with: String) -> String { wellFormed.replacingOccurrences(of: of, with: with) }

    static let headerCases: [(String, String, [String])] = {
        var cases: [(String, String, [String])] = []
        cases.append((wellFormed, "ann@example.com", [String]()))
        cases.append((wellFormed, "bounces@mail.example.com", []))
        cases.append((wellFormed, "", []))
        cases.append((wellFormed, "ann@elsewhere.test", ["ENVELOPE_FROM_MISMATCH"]))
        cases.append((variant("From: Ann <ann@example.com>\r\n", with: ""), "ann@example.com", ["MISSING_FROM"]))
        cases.append((variant("<ann@example.com>", with: "nobody"), "ann@example.com", ["MALFORMED_FROM"]))
        cases.append((variant("Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n", with: ""), "ann@example.com", ["MISSING_DATE"]))
        cases.append((variant("Thu, 26 Nov 2026 10:00:00 +0000", with: "soon"), "ann@example.com", ["MALFORMED_DATE"]))
        cases.append((variant("26 Nov 2026", with: "26 Nov 2027"), "ann@example.com", ["DATE_IN_FUTURE"]))
        cases.append((variant("Message-ID: <a1@example.com>\r\n", with: ""), "ann@example.com", ["MISSING_MESSAGE_ID"]))
        cases.append((variant("<a1@example.com>", with: "a1@example.com"), "ann@example.com", ["MALFORMED_MESSAGE_ID"]))
        cases.append((variant("<a1@example.com>", with: "<a1>"), "ann@example.com", ["MALFORMED_MESSAGE_ID"]))
        cases.append((variant("Subject: Hi\r\n", with: "Subject: Hi\r\nSubject: Again\r\n"), "ann@example.com", ["DUPLICATE_HEADER"]))
        cases.append((variant("Hello.\r\n", with: "Hello.\nBye.\r\n"), "ann@example.com", ["BARE_LF"]))
        cases.append((variant("To: bob@example.org\r\n", with: ""), "ann@example.com", ["NO_RECIPIENT_HEADER"]))
        cases.append((variant("To: bob@example.org\r\n", with: "Cc: bob@example.org\r\n"), "ann@example.com", []))
        return cases
    }()

    @Test(arguments: headerCases)
    func headerChecksFireOnWhatTheyName(_ text: String, _ sender: String, _ expected: [String]) {
        #expect(Self.names(text, sender: sender) == expected)
    }

    @Test func everyCheckHasAScore() {
        let everything = "Subject: a\r\nSubject: b\r\nX: y\n\r\nbody\n"
        let checks = HeaderAnomalies.checks(MIMEMessage(parsing: Array(everything.utf8)), envelopeSender: "", now: Self.now)
        #expect(Set(checks.map(\.name)) == ["MISSING_FROM", "MISSING_DATE", "MISSING_MESSAGE_ID", "DUPLICATE_HEADER", "BARE_LF",
                                            "NO_RECIPIENT_HEADER"])
        #expect(checks.allSatisfy { $0.score > 0 && HeaderAnomalies.scores[$0.name] == $0.score })
    }

    // MARK: Verdict

    @Test(arguments: [(4.9, 1.0, false), (5.0, 1.0, true), (1.0, 5.0, true), (0.9, 5.0, false), (49.0, 0.1, false), (50.0, 0.1, true)])
    func sensitivityMovesTheThreshold(_ score: Double, _ sensitivity: Double, _ spam: Bool) {
        let verdict = SpamVerdict(checks: [.init(name: "X", score: score, detail: "")], sensitivity: sensitivity)
        #expect(verdict.isSpam == spam)
    }

    @Test func headerFieldsExplainTheScore() {
        let spam = SpamVerdict(checks: [.init(name: "DNSBL_A", score: 5, detail: ""), .init(name: "BARE_LF", score: 1.5, detail: "")], sensitivity: 1)
        #expect(spam.headerFields == "X-Spam-Status: Yes, score=6.50 required=5.00 tests=DNSBL_A,BARE_LF\r\nX-Spam-Flag: YES\r\n")
        #expect(SpamVerdict(checks: [], sensitivity: 2).headerFields == "X-Spam-Status: No, score=0.00 required=2.50 tests=none\r\n")
    }
}
