import MailCore
import NIOCore
import NIOHTTP1
import Testing

@testable import Cluster

@Suite struct MailHandoffWireTests {
    static let message = Array("Subject: hi\r\n\r\nline one\nline two\r\n".utf8)

    @Test func aDeliveryBodyRoundTrips() throws {
        let body = MailHandoff.frame(MailHandoff.DeliveryEnvelope(grantID: "g-1"), Self.message)
        let (envelope, raw) = try MailHandoff.unframe(body, as: MailHandoff.DeliveryEnvelope.self)
        #expect(envelope.grantID == "g-1")
        // The message's own line feeds are bytes like any other: only the first ends the envelope.
        #expect(raw == Self.message)
    }

    @Test func aSubmissionBodyRoundTripsWithEightBitAddresses() throws {
        let wire = MailHandoff.SubmissionEnvelopeWire(grantID: "g-2", mailFrom: "", recipients: ["jöran@example.de", "b@example.com"])
        let body = MailHandoff.frame(wire, Self.message)
        #expect(String(buffer: body).contains(#""grant_id":"g-2""#))
        let (envelope, raw) = try MailHandoff.unframe(body, as: MailHandoff.SubmissionEnvelopeWire.self)
        #expect(envelope == wire)
        #expect(raw == Self.message)
    }

    @Test(arguments: [
        ("", "no envelope line"),
        ("{\"grant_id\":\"g\"}", "no envelope line"),
        ("{\"grant_id\":\"g\"}\n", "the message is empty"),
        ("{\"grant\":\"g\"}\nSubject: x\r\n\r\n", "the envelope is not valid"),
        ("not json\nSubject: x\r\n\r\n", "the envelope is not valid"),
    ])
    func malformedBodiesAreRefused(_ text: String, _ reason: String) {
        do {
            _ = try MailHandoff.unframe(ByteBuffer(string: text), as: MailHandoff.DeliveryEnvelope.self)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.description.hasPrefix(reason), "\(error.description)")
        }
    }

    /// The envelope line is bounded: a body without a line feed in its first megabyte is refused
    /// without reading further.
    @Test func theEnvelopeLineIsBounded() {
        var body = ByteBuffer(repeating: UInt8(ascii: "x"), count: MailHandoff.maximumEnvelopeBytes + 1)
        body.writeString("\nSubject: x\r\n\r\n")
        #expect(throws: MailHandoff.MalformedBody.self) { try MailHandoff.unframe(body, as: MailHandoff.DeliveryEnvelope.self) }
    }

    static func answer(_ outcome: MailHandoff.Outcome, status: Int = 200) -> ClusterLink.Answer {
        ClusterLink.Answer(status: status, headers: [:], body: MailHandoff.encode(outcome), node: "eu-1")
    }

    @Test(arguments: [
        RecipientOutcome.delivered,
        .temporaryFailure(status: "4.3.0", reason: "the recipient's mailbox could not be written"),
        .permanentFailure(status: "5.2.2", reason: "the recipient's mailbox is full"),
    ])
    func recipientOutcomesCrossUnchanged(_ outcome: RecipientOutcome) {
        #expect(MailHandoff.recipientOutcome(Self.answer(MailHandoff.Outcome(outcome))) == outcome)
    }

    @Test(arguments: [
        SubmissionOutcome.queued(messageID: "m-1"),
        .refused(code: 553, status: "5.7.1", text: "From header must be the authenticated user's address a@b"),
        .refused(code: 552, status: "5.2.2", text: "Mailbox full"),
        .refused(code: 451, status: "4.3.0", text: "Local error"),
    ])
    func submissionOutcomesCrossUnchanged(_ outcome: SubmissionOutcome) {
        #expect(MailHandoff.submissionOutcome(Self.answer(MailHandoff.Outcome(outcome))) == outcome)
    }

    /// Anything but a well-formed 200 (a proxy's error page, a 503 of a node whose Postgres is
    /// down) is a temporary failure: the sender keeps the message and tries again.
    @Test func anAnswerThatIsNotAnOutcomeIsTemporary() {
        let broken = ClusterLink.Answer(status: 503, headers: [:], body: ByteBuffer(string: "{}"), node: "eu-1")
        #expect(!MailHandoff.recipientOutcome(broken).isFinal)
        guard case .refused(let code, let status, _) = MailHandoff.submissionOutcome(broken) else {
            Issue.record("a 503 became a success")
            return
        }
        #expect(code == 451 && status == "4.3.0")
        let garbage = ClusterLink.Answer(status: 200, headers: [:], body: ByteBuffer(string: "<html>"), node: "eu-1")
        #expect(!MailHandoff.recipientOutcome(garbage).isFinal)
    }

    /// A region with a smaller message size limit refuses for good: the sender bounces at once
    /// rather than retry for days.
    @Test func aTooLargeAnswerIsPermanent() {
        let tooLarge = ClusterLink.Answer(status: 413, headers: [:], body: ByteBuffer(), node: "eu-1")
        #expect(MailHandoff.recipientOutcome(tooLarge).isFinal)
        #expect(MailHandoff.submissionOutcome(tooLarge) == .refused(code: 552, status: "5.3.4", text: "Message too large for the account's region"))
    }
}
