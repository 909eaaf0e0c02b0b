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
    }

    @Sendable func deliver(request: Request, context: APIRequestContext) async throws -> Response {
        let (envelope, raw) = try await read(MailHandoff.DeliveryEnvelope.self, request)
        guard let grant = GrantID(rawValue: envelope.grantID) else { throw APIError(.invalidRequest, "grant_id is not a grant id") }
        return answer(MailHandoff.Outcome(await intake.deliver(raw, to: grant)))
    }

    @Sendable func submit(request: Request, context: APIRequestContext) async throws -> Response {
        let (envelope, raw) = try await read(MailHandoff.SubmissionEnvelopeWire.self, request)
        guard let grant = GrantID(rawValue: envelope.grantID) else { throw APIError(.invalidRequest, "grant_id is not a grant id") }
        var recipients: [EmailAddress] = []
        for recipient in envelope.recipients {
            guard let address = EmailAddress(recipient) else { throw APIError(.invalidRequest, "recipient \(recipient) is not an address") }
            recipients.append(address)
        }
        let outcome = await intake.submit(raw, from: grant, envelope: SubmissionEnvelope(mailFrom: envelope.mailFrom, recipients: recipients))
        return answer(MailHandoff.Outcome(outcome))
    }

    private func read<Envelope: Decodable>(_ type: Envelope.Type, _ request: Request) async throws -> (Envelope, [UInt8]) {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: messageSizeLimit + MailHandoff.maximumEnvelopeBytes + 1)
        } catch is NIOTooManyBytesError {
            throw APIError(.tooLarge, "the message is larger than \(messageSizeLimit) bytes")
        }
        do {
            return try MailHandoff.unframe(body, as: type)
        } catch {
            throw APIError(.invalidRequest, error.description)
        }
    }

    private func answer(_ outcome: MailHandoff.Outcome) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: MailHandoff.encode(outcome)))
    }
}
