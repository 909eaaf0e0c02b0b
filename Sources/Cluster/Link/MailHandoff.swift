import Foundation
import Logging
import MailCore
import Metrics
import NIOCore
import NIOHTTP1

/// Mail a node received for a grant of another region, handed to a live node of that region
/// (`HomeRegionMailIntake` there) over the cluster link. The answer comes after the home region's
/// commit, so the receiving node's acknowledgement follows it; a handoff whose outcome is unknown
/// is a temporary failure, and the sender's retry is deduplicated at home (a delivery by its
/// Message-ID) or, for a submission, may be sent twice, as SMTP itself allows after a lost reply.
public struct MailHandoff: Sendable {
    public static let deliveryPath = "/internal/v1/deliveries"
    public static let submissionPath = "/internal/v1/submissions"
    public static let evaluationPath = "/internal/v1/rule-evaluations"
    /// The JSON line that precedes the message in a handoff body.
    public static let maximumEnvelopeBytes = 1_048_576
    static let timeout: TimeAmount = .seconds(120)

    let link: ClusterLink

    public init(link: ClusterLink) {
        self.link = link
    }

    public func deliver(_ raw: [UInt8], to grant: GrantID, mailFrom: String, client: String?, in region: Region) async -> RecipientOutcome {
        let body = Self.frame(DeliveryEnvelope(grantID: grant.rawValue, mailFrom: mailFrom, client: client), raw)
        do {
            let answer = try await link.send(.POST, Self.deliveryPath, headers: Self.headers, body: body, to: region,
                                             repeatable: false, timeout: Self.timeout, maximumAnswerBytes: 65536)
            let outcome = Self.recipientOutcome(answer)
            Self.count("delivery", region, outcome == .delivered ? "stored" : outcome.isFinal ? "refused" : "deferred")
            return outcome
        } catch {
            Self.count("delivery", region, "unreachable")
            return .temporaryFailure(status: "4.4.3", reason: "the recipient's region \(region) cannot be reached (\(error))")
        }
    }

    public func submit(_ raw: [UInt8], from grant: GrantID, envelope: SubmissionEnvelope, in region: Region) async -> SubmissionOutcome {
        let wire = SubmissionEnvelopeWire(grantID: grant.rawValue, mailFrom: envelope.mailFrom,
                                          recipients: envelope.recipients.map(\.address))
        do {
            let answer = try await link.send(.POST, Self.submissionPath, headers: Self.headers, body: Self.frame(wire, raw), to: region,
                                             repeatable: false, timeout: Self.timeout, maximumAnswerBytes: 65536)
            let outcome = Self.submissionOutcome(answer)
            if case .queued = outcome { Self.count("submission", region, "stored") } else { Self.count("submission", region, "refused") }
            return outcome
        } catch {
            Self.count("submission", region, "unreachable")
            return .refused(code: 451, status: "4.4.3", text: "The account's region \(region) cannot be reached; try again")
        }
    }

    /// Hands a rule evaluation for a grant of `region` to a node there; false when it was not kept.
    public func record(_ evaluation: RuleEvaluation, in region: Region) async -> Bool {
        guard let json = try? JSONEncoder().encode(evaluation) else { return false }
        do {
            let answer = try await link.send(.POST, Self.evaluationPath, headers: ["Content-Type": "application/json"], body: ByteBuffer(bytes: json),
                                             to: region, repeatable: true, timeout: .seconds(10), maximumAnswerBytes: 65536)
            return answer.status == 200
        } catch {
            return false
        }
    }

    private static let headers: HTTPHeaders = ["Content-Type": "application/vnd.mailnode.handoff"]

    private static func count(_ kind: String, _ region: Region, _ outcome: String) {
        Counter(label: "mailnode_cluster_handoffs_total", dimensions: [("kind", kind), ("region", region.rawValue), ("outcome", outcome)]).increment()
    }
}

// MARK: - Wire format

extension MailHandoff {
    /// A handoff body is one line of JSON (the envelope), a line feed, then the message's bytes.
    public struct DeliveryEnvelope: Codable, Sendable, Hashable {
        public var grantID: String
        /// The envelope sender, which the grant's inbound rules look at.
        public var mailFrom: String?
        /// The SMTP client's address, for spam detection (absent for mail from within the cluster).
        public var client: String?

        enum CodingKeys: String, CodingKey {
            case grantID = "grant_id"
            case mailFrom = "mail_from"
            case client = "client_address"
        }
    }

    public struct SubmissionEnvelopeWire: Codable, Sendable, Hashable {
        public var grantID: String
        public var mailFrom: String
        public var recipients: [String]

        enum CodingKeys: String, CodingKey {
            case grantID = "grant_id"
            case mailFrom = "mail_from"
            case recipients
        }
    }

    /// The home node's answer, whatever the kind of handoff.
    public struct Outcome: Codable, Sendable, Hashable {
        /// `delivered`, `queued`, `temporary` or `permanent`.
        public var outcome: String
        /// SMTP reply code of a refusal.
        public var code: Int?
        /// Enhanced status code (RFC 3463) of a refusal.
        public var status: String?
        public var reason: String?
        public var messageID: String?

        enum CodingKeys: String, CodingKey {
            case outcome, code, status, reason
            case messageID = "message_id"
        }

        public init(_ outcome: RecipientOutcome) {
            switch outcome {
            case .delivered: self.outcome = "delivered"
            case .temporaryFailure(let status, let reason): (self.outcome, self.status, self.reason) = ("temporary", status, reason)
            case .permanentFailure(let status, let reason): (self.outcome, self.status, self.reason) = ("permanent", status, reason)
            }
        }

        public init(_ outcome: SubmissionOutcome) {
            switch outcome {
            case .queued(let messageID): (self.outcome, self.messageID) = ("queued", messageID)
            case .refused(let code, let status, let text):
                (self.outcome, self.code, self.status, self.reason) = (code >= 500 ? "permanent" : "temporary", code, status, text)
            }
        }
    }

    public struct MalformedBody: Error, CustomStringConvertible {
        public let description: String
    }

    public static func frame(_ envelope: some Encodable, _ raw: [UInt8]) -> ByteBuffer {
        let json = (try? JSONEncoder().encode(envelope)) ?? Data("{}".utf8)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(json.count + 1 + raw.count)
        buffer.writeBytes(json)
        buffer.writeInteger(UInt8(ascii: "\n"))
        buffer.writeBytes(raw)
        return buffer
    }

    /// Splits a handoff body into its envelope and its message.
    public static func unframe<Envelope: Decodable>(_ body: ByteBuffer, as type: Envelope.Type) throws(MalformedBody) -> (Envelope, [UInt8]) {
        let view = body.readableBytesView
        guard let newline = view.prefix(maximumEnvelopeBytes + 1).firstIndex(of: UInt8(ascii: "\n")) else {
            throw MalformedBody(description: "no envelope line within \(maximumEnvelopeBytes) bytes")
        }
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(view[view.startIndex..<newline]))
        } catch {
            throw MalformedBody(description: "the envelope is not valid: \(error)")
        }
        let raw = Array(view[view.index(after: newline)...])
        guard !raw.isEmpty else { throw MalformedBody(description: "the message is empty") }
        return (envelope, raw)
    }

    public static func encode(_ outcome: Outcome) -> ByteBuffer {
        ByteBuffer(bytes: (try? JSONEncoder().encode(outcome)) ?? Data())
    }

    static func decode(_ answer: ClusterLink.Answer) -> Outcome? {
        guard answer.status == 200 else { return nil }
        return try? JSONDecoder().decode(Outcome.self, from: Data(answer.body.readableBytesView))
    }

    static func recipientOutcome(_ answer: ClusterLink.Answer) -> RecipientOutcome {
        if answer.status == 413 { return .permanentFailure(status: "5.3.4", reason: "the message is too large for the recipient's region") }
        guard let outcome = decode(answer) else {
            return .temporaryFailure(status: "4.3.0", reason: "the recipient's region answered HTTP \(answer.status)")
        }
        switch outcome.outcome {
        case "delivered": return .delivered
        case "permanent": return .permanentFailure(status: outcome.status ?? "5.0.0", reason: outcome.reason ?? "refused")
        default: return .temporaryFailure(status: outcome.status ?? "4.3.0", reason: outcome.reason ?? "try again later")
        }
    }

    static func submissionOutcome(_ answer: ClusterLink.Answer) -> SubmissionOutcome {
        if answer.status == 413 { return .refused(code: 552, status: "5.3.4", text: "Message too large for the account's region") }
        guard let outcome = decode(answer) else {
            return .refused(code: 451, status: "4.3.0", text: "The account's region answered HTTP \(answer.status); try again")
        }
        if outcome.outcome == "queued", let messageID = outcome.messageID { return .queued(messageID: messageID) }
        let permanent = outcome.outcome == "permanent"
        return .refused(code: outcome.code ?? (permanent ? 554 : 451), status: outcome.status ?? (permanent ? "5.0.0" : "4.3.0"),
                        text: outcome.reason ?? "Refused by the account's region")
    }
}
