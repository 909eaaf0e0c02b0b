import Cluster
import Hummingbird
import MailCore
import NIOCore

/// `/internal/v1/...` on the cluster listener only: mail that a node of another region received
/// for one of this region's grants (`MailHandoff`). The listener's mutual TLS is the
/// authentication; the answer is sent after this region's commit.
struct ClusterIntakeController {
    let intake: any HomeRegionMailIntake
    /// The largest message; the envelope line comes on top.
    let messageSizeLimit: Int

    func register(on router: Router<APIRequestContext>) {
        let group = router.group("internal/v1")
        group.post("deliveries", use: deliver)
        group.post("submissions", use: submit)
        group.post("rule-evaluations", use: record)
    }

    /// The address of a `Return-Path: <...>` first line (what `LocalDelivery.Trace` writes).
    static func returnPath(_ raw: [UInt8]) -> String? {
        let line = String(decoding: raw.prefix(600).split(separator: UInt8(ascii: "\r"), maxSplits: 1).first ?? [], as: UTF8.self)
        guard line.lowercased().hasPrefix("return-path:"), let open = line.firstIndex(of: "<"), let close = line.lastIndex(of: ">"),
              open < close else { return nil }
        return String(line[line.index(after: open)..<close])
    }

    @Sendable func record(request: Request, context: APIRequestContext) async throws -> Response {
        let evaluation = try await JSONBody.decode(RuleEvaluation.self, from: request, limit: 1_048_576)
        guard GrantID(rawValue: evaluation.grantID) != nil else { throw APIError(.invalidRequest, "grant_id is not a grant id") }
        guard await intake.record(evaluation) else { throw APIError(.unavailable, "the evaluation could not be stored") }
        return Response(status: .ok)
    }

    @Sendable func deliver(request: Request, context: APIRequestContext) async throws -> Response {
        guard let (envelope, raw) = try await read(MailHandoff.DeliveryEnvelope.self, request) else {
            return answer(MailHandoff.Outcome(RecipientOutcome.permanentFailure(status: "5.3.4", reason: tooLarge)))
        }
        guard let grant = GrantID(rawValue: envelope.grantID) else { throw APIError(.invalidRequest, "grant_id is not a grant id") }
        // A node that sends no mail_from (an older one) still wrote the sender first, as Return-Path.
        guard let mailFrom = envelope.mailFrom ?? Self.returnPath(raw) else {
            return answer(MailHandoff.Outcome(RecipientOutcome.temporaryFailure(status: "4.3.0", reason: "the envelope sender is missing")))
        }
        return answer(MailHandoff.Outcome(await intake.deliver(raw, to: grant, mailFrom: mailFrom, client: envelope.client)))
    }

    @Sendable func submit(request: Request, context: APIRequestContext) async throws -> Response {
        guard let (envelope, raw) = try await read(MailHandoff.SubmissionEnvelopeWire.self, request) else {
            return answer(MailHandoff.Outcome(SubmissionOutcome.refused(code: 552, status: "5.3.4", text: tooLarge)))
        }
        guard let grant = GrantID(rawValue: envelope.grantID) else { throw APIError(.invalidRequest, "grant_id is not a grant id") }
        var recipients: [EmailAddress] = []
        for recipient in envelope.recipients {
            guard let address = EmailAddress(recipient) else { throw APIError(.invalidRequest, "recipient \(recipient) is not an address") }
            recipients.append(address)
        }
        let outcome = await intake.submit(raw, from: grant, envelope: SubmissionEnvelope(mailFrom: envelope.mailFrom, recipients: recipients))
        return answer(MailHandoff.Outcome(outcome))
    }

    /// Regions may set different size limits: a message over this one's is refused for good (an
    /// answer, so that the sender bounces it rather than retry it for days).
    private var tooLarge: String { "Message size exceeds the recipient region's maximum of \(messageSizeLimit) bytes" }

    /// The envelope and the message; nil when the message is over the size limit.
    private func read<Envelope: Decodable>(_ type: Envelope.Type, _ request: Request) async throws -> (Envelope, [UInt8])? {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: messageSizeLimit + MailHandoff.maximumEnvelopeBytes + 1)
        } catch is NIOTooManyBytesError {
            return nil
        }
        let (envelope, raw): (Envelope, [UInt8])
        do {
            (envelope, raw) = try MailHandoff.unframe(body, as: type)
        } catch {
            throw APIError(.invalidRequest, error.description)
        }
        return raw.count > messageSizeLimit ? nil : (envelope, raw)
    }

    private func answer(_ outcome: MailHandoff.Outcome) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: MailHandoff.encode(outcome)))
    }
}
