import Foundation
import Hummingbird
import Logging
import MIME
import MailCore
import MailPipeline
import Storage

/// `POST /v3/grants/{id}/messages/send` and `/v3/grants/{id}/drafts`: messages built with the MIME
/// builder, saved where IMAP clients see them (Sent, Drafts), and handed to the outbound queue.
struct SendingController {
    let grants: GrantService
    let store: any MailStore
    let jsonBodyLimit: Int
    /// The largest multipart request and the largest built message (the seed's 25 MB).
    let messageSizeLimit: Int
    /// The application's outbound rules; nil: none are enforced.
    var rules: GuardrailRules? = nil

    func register(on group: RouterGroup<APIRequestContext>) {
        group.post("grants/{grant_id}/messages/send", use: send)
        group.get("grants/{grant_id}/drafts", use: drafts)
        group.post("grants/{grant_id}/drafts", use: createDraft)
        group.get("grants/{grant_id}/drafts/{draft_id}", use: draft)
        group.put("grants/{grant_id}/drafts/{draft_id}", use: updateDraft)
        group.delete("grants/{grant_id}/drafts/{draft_id}", use: deleteDraft)
        group.post("grants/{grant_id}/drafts/{draft_id}", use: sendDraft)
    }

    // MARK: - Sending

    @Sendable func send(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let (body, files) = try await readOutgoing(request)
        var outgoing = try OutgoingMessage(body, from: grant.email, files: files, requireRecipients: true)
        if let original = body.replyToMessageID {
            outgoing.reply(to: try await repliedTo(original, grant: grant))
        }
        let sent = try await submit(outgoing, grant: grant, replacingDraftID: nil, repliesTo: body.replyToMessageID != nil, context: context)
        return try JSONResponses.data(sent, context: context)
    }

    /// `repliesTo`: the request named a message it answers (the built message may carry
    /// In-Reply-To and References too; either makes the send a reply for outbound rules).
    private func submit(_ outgoing: OutgoingMessage, grant: Grant, replacingDraftID: String?, repliesTo: Bool,
                        context: APIRequestContext) async throws -> MessageObject {
        var builder = outgoing.builder
        builder.prepareForSending()
        let sentCopy = builder.build(includeBcc: true)
        guard sentCopy.count <= messageSizeLimit else {
            throw APIError(.tooLarge, "the message is \(sentCopy.count) bytes; the maximum message size is \(messageSizeLimit) bytes")
        }
        let (parsed, facts) = await MessageParsing.messageAndFacts(sentCopy)
        let submission = Submission(sentCopy: sentCopy, facts: facts, transmit: builder.build(),
                                    mailFrom: grant.email.address, recipients: outgoing.recipients,
                                    internalDate: WallClock.unixSeconds(), replacingDraftID: replacingDraftID)
        let pipeline = SubmissionPipeline(store: store, rules: rules, logger: context.logger)
        let messageID: String
        switch await pipeline.submit(submission, grant: grant, parsed: parsed, ruleRecipients: outgoing.recipients.map(\.address),
                                     isReply: repliesTo || !parsed.inReplyTo().isEmpty || !parsed.references().isEmpty) {
        case .success(let stored):
            messageID = stored
        case .failure(let refusal):
            throw Self.apiError(refusal, draftID: replacingDraftID)
        }
        context.logger.info("message submitted", metadata: [
            "grant_id": "\(grant.id)", "message_id": "\(messageID)", "recipients": "\(outgoing.recipients.count)"])
        guard let stored = try await store.message(grant: grant.id, id: messageID, includeRaw: false) else {
            throw APIError(.internalError, "the sent message vanished before it could be shown")
        }
        return MessageObject(stored, parsed: parsed, includeHeaders: false)
    }

    /// A refusal of the submission pipeline as the API says it; an unexpected failure goes to the
    /// error middleware as it came (503 when Postgres is unreachable, else 500).
    static func apiError(_ refusal: SubmissionPipeline.Refusal, draftID: String?) -> any Error {
        switch refusal {
        case .senderNotOwned:
            APIError(.invalidRequest, "from must be the grant's own address")
        case .policyLimit(let field, let text):
            APIError(.invalidRequest, "\(field): \(text)")
        case .blocked(let ruleIDs):
            APIError(.forbidden, "the message was blocked by the application's outbound rules (\(ruleIDs.joined(separator: ", "))); nothing was sent or stored")
        case .dailyLimit(let limit, let retryAfter):
            APIError(.tooManyRequests, "limit_count_daily_email_sent: the grant has sent its \(limit) messages for today; the count starts again at 00:00 UTC",
                     retryAfterSeconds: retryAfter)
        case .overQuota(let limit):
            MessagesController.apiError(.overQuota(limit: limit))
        case .rulesUnavailable:
            APIError(.unavailable, "the grant's policy or the outbound rules could not be read; nothing was sent, try again")
        case .store(.noSuchMessage) where draftID != nil:
            APIError(.notFound, "no draft with id \(draftID ?? "")")
        case .store(let error):
            MessagesController.apiError(error)
        case .unexpected(let error):
            error
        }
    }

    // MARK: - Drafts

    @Sendable func drafts(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let paging = try PageRequest(FormQuery(request.uri.query))
        let page: MessagePage
        do {
            page = try await store.listMessages(grant: grant.id, folderID: SystemFolder.drafts.apiID,
                                                cursor: paging.cursor, limit: paging.limit)
        } catch let error as MailStoreError {
            throw MessagesController.apiError(error)
        }
        let objects = try await store.messages(grant: grant.id, ids: page.messages.map(\.id), includeRaw: true).map { message in
            MessageObject(message, parsed: message.raw.map { MIMEMessage(parsing: $0) }, includeHeaders: false, object: "draft")
        }
        return try JSONResponses.list(objects, nextCursor: page.nextCursor, context: context)
    }

    @Sendable func draft(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let stored = try await storedDraft(grant, context)
        return try JSONResponses.data(
            MessageObject(stored, parsed: stored.raw.map { MIMEMessage(parsing: $0) }, includeHeaders: false, object: "draft"), context: context)
    }

    @Sendable func createDraft(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let (body, files) = try await readOutgoing(request)
        var outgoing = try OutgoingMessage(body, from: grant.email, files: files, requireRecipients: false)
        if let original = body.replyToMessageID {
            outgoing.reply(to: try await repliedTo(original, grant: grant))
        }
        let raw = try build(outgoing)
        let (parsed, facts) = await MessageParsing.messageAndFacts(raw)
        let result: AppendResult
        do {
            result = try await store.append(grant: grant.id, folderID: SystemFolder.drafts.apiID, raw: raw,
                                            facts: facts,
                                            flags: MessageFlags([MessageFlags.draft, MessageFlags.seen]), internalDate: WallClock.unixSeconds())
        } catch let error as MailStoreError {
            throw MessagesController.apiError(error)
        }
        guard let stored = try await store.message(grant: grant.id, id: result.messageID, includeRaw: false) else {
            throw APIError(.internalError, "the draft vanished before it could be shown")
        }
        return try JSONResponses.data(MessageObject(stored, parsed: parsed, includeHeaders: false, object: "draft"), context: context)
    }

    @Sendable func updateDraft(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let current = try await storedDraft(grant, context)
        let (body, files) = try await readOutgoing(request)
        let merged = Self.merge(body, into: current)
        // Attachments named in the update replace the draft's; without any, the draft keeps its own.
        let keptFiles = body.attachments == nil && files.isEmpty ? Self.attachments(of: current) : []
        var outgoing = try OutgoingMessage(merged, from: grant.email, files: files + keptFiles, requireRecipients: false)
        if let original = body.replyToMessageID {
            outgoing.reply(to: try await repliedTo(original, grant: grant))
        } else if let raw = current.raw {
            let parsed = await MessageParsing.message(raw)
            outgoing.builder.inReplyTo = parsed.inReplyTo()
            outgoing.builder.references = parsed.references()
        }
        let raw = try build(outgoing)
        let (parsed, facts) = await MessageParsing.messageAndFacts(raw)
        let updated: StoredMessage
        do {
            updated = try await store.replaceMessage(grant: grant.id, id: current.id, raw: raw, facts: facts,
                                                     internalDate: WallClock.unixSeconds())
        } catch let error as MailStoreError {
            throw MessagesController.apiError(error)
        }
        return try JSONResponses.data(MessageObject(updated, parsed: parsed, includeHeaders: false, object: "draft"), context: context)
    }

    @Sendable func deleteDraft(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let current = try await storedDraft(grant, context)
        // A draft is not mail anyone received: it goes for good, not to Trash.
        do {
            try await store.destroyMessage(grant: grant.id, id: current.id)
        } catch let error as MailStoreError {
            throw MessagesController.apiError(error)
        }
        return try JSONResponses.empty(context: context)
    }

    @Sendable func sendDraft(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let current = try await storedDraft(grant, context)
        guard let raw = current.raw else { throw APIError(.internalError, "the draft has no content") }
        var outgoing = try OutgoingMessage(OutgoingMessageRequest(), from: grant.email, requireRecipients: false)
        outgoing.builder = Self.builder(from: await MessageParsing.message(raw), sender: outgoing.builder.from)
        outgoing.recipients = (outgoing.builder.to + outgoing.builder.cc + outgoing.builder.bcc).compactMap { EmailAddress($0.address) }
        guard !outgoing.recipients.isEmpty else {
            throw APIError(.invalidRequest, "the draft has no recipients: set to, cc or bcc before sending it")
        }
        let sent = try await submit(outgoing, grant: grant, replacingDraftID: current.id, repliesTo: false, context: context)
        return try JSONResponses.data(sent, context: context)
    }

    // MARK: - Helpers

    /// The request as JSON (at most the API's JSON limit) or as multipart form data (at most the
    /// message size limit): a `message` part with the JSON and file parts.
    private func readOutgoing(_ request: Request) async throws -> (OutgoingMessageRequest, [MessageBuilder.FilePart]) {
        let contentType = request.headers[.contentType] ?? "application/json"
        guard let boundary = MultipartFormData.boundary(contentType: contentType) else {
            return (try await JSONBody.decode(OutgoingMessageRequest.self, from: request, limit: jsonBodyLimit), [])
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: messageSizeLimit)
        } catch {
            throw APIError(.tooLarge, "the multipart body is larger than \(messageSizeLimit) bytes")
        }
        let form = try await MultipartFormData.parse(body: Array(buffer.readableBytesView), boundary: boundary)
        guard let json = form.fields.first(where: { $0.name == "message" }) else {
            throw APIError(.invalidRequest, "the multipart body needs a part named message holding the JSON fields")
        }
        guard json.data.count <= jsonBodyLimit else { throw APIError(.tooLarge, "the message part is larger than \(jsonBodyLimit) bytes") }
        let body: OutgoingMessageRequest
        do {
            body = try JSONDecoder().decode(OutgoingMessageRequest.self, from: Data(json.data))
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw APIError(.invalidRequest, "message.\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch {
            throw APIError(.invalidRequest, "the message part is not valid JSON")
        }
        let files = form.fields.filter { $0.name != "message" }.map { field in
            MessageBuilder.FilePart(filename: field.filename ?? field.name, contentType: field.contentType, data: field.data)
        }
        return (body, files)
    }

    private func build(_ outgoing: OutgoingMessage) throws -> [UInt8] {
        var builder = outgoing.builder
        builder.prepareForSending()
        let raw = builder.build(includeBcc: true)
        guard raw.count <= messageSizeLimit else {
            throw APIError(.tooLarge, "the message is \(raw.count) bytes; the maximum message size is \(messageSizeLimit) bytes")
        }
        return raw
    }

    private func repliedTo(_ id: String, grant: Grant) async throws -> StoredMessage {
        guard id.count <= 64, let original = try await store.message(grant: grant.id, id: id, includeRaw: false) else {
            throw APIError(.notFound, "reply_to_message_id: no message with id \(id.prefix(64))")
        }
        return original
    }

    /// Fields of an update that are absent keep the draft's current values.
    static func merge(_ body: OutgoingMessageRequest, into current: StoredMessage) -> OutgoingMessageRequest {
        func recipients(_ list: [Participant]) -> [OutgoingMessageRequest.Recipient] {
            list.map { .init(name: $0.name, email: $0.email) }
        }
        var merged = body
        if merged.to == nil { merged.to = recipients(current.facts.to) }
        if merged.cc == nil { merged.cc = recipients(current.facts.cc) }
        if merged.bcc == nil { merged.bcc = recipients(current.facts.bcc) }
        if merged.replyTo == nil { merged.replyTo = recipients(current.facts.replyTo) }
        if merged.subject == nil { merged.subject = current.facts.subject }
        if merged.body == nil, let raw = current.raw {
            let summary = MIMEMessage(parsing: raw).summary()
            if let html = summary.htmlBody {
                merged.body = html
            } else {
                merged.body = summary.textBody
                if merged.isPlaintext == nil { merged.isPlaintext = true }
            }
        }
        return merged
    }

    /// The draft's attachments, carried over when an update does not replace them.
    static func attachments(of draft: StoredMessage) -> [MessageBuilder.FilePart] {
        guard let raw = draft.raw else { return [] }
        let parsed = MIMEMessage(parsing: raw)
        return parsed.summary().attachments.compactMap { attachment in
            guard let binary = parsed.binary(section: attachment.sectionPath), case .content(let bytes) = binary else { return nil }
            return MessageBuilder.FilePart(filename: attachment.filename, contentType: attachment.contentType, data: bytes,
                                           contentID: attachment.contentID, isInline: attachment.isInline)
        }
    }

    /// A builder that sends a stored draft as it is: its recipients, subject, body, files and references.
    static func builder(from draft: MIMEMessage, sender: [Mailbox]) -> MessageBuilder {
        var builder = MessageBuilder()
        builder.from = sender
        func mailboxes(_ name: String) -> [Mailbox] {
            draft.addresses(name).flatMap(\.mailboxes)
        }
        builder.to = mailboxes("To")
        builder.cc = mailboxes("Cc")
        builder.bcc = mailboxes("Bcc")
        builder.replyTo = mailboxes("Reply-To")
        builder.subject = draft.subject()
        builder.inReplyTo = draft.inReplyTo()
        builder.references = draft.references()
        let summary = draft.summary()
        builder.htmlBody = summary.htmlBody
        builder.textBody = summary.textBody ?? summary.htmlBody.map(HTMLText.visibleText)
        builder.attachments = summary.attachments.compactMap { attachment in
            guard let binary = draft.binary(section: attachment.sectionPath), case .content(let bytes) = binary else { return nil }
            return MessageBuilder.FilePart(filename: attachment.filename, contentType: attachment.contentType, data: bytes,
                                           contentID: attachment.contentID, isInline: attachment.isInline)
        }
        return builder
    }

    private func storedDraft(_ grant: Grant, _ context: APIRequestContext) async throws -> StoredMessage {
        guard let id = context.parameters.get("draft_id"), !id.isEmpty, id.count <= 64,
              let message = try await store.message(grant: grant.id, id: id, includeRaw: true),
              message.folderID == SystemFolder.drafts.apiID else {
            throw APIError(.notFound, "no draft with id \(context.parameters.get("draft_id") ?? "")")
        }
        return message
    }

}
