import Hummingbird
import MIME
import MailCore

/// `/v3/grants/{grant_id}/threads`: conversations as the store threads them (Message-ID,
/// In-Reply-To, References, then the subject), the same ids IMAP's THREADID shows.
struct ThreadsController {
    let grants: GrantService
    let store: any MailStore

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("grants/{grant_id}/threads", use: list)
        group.get("grants/{grant_id}/threads/{thread_id}", use: show)
    }

    @Sendable func list(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let query = FormQuery(request.uri.query)
        let filter = try ThreadFilter(query: query)
        let paging = try PageRequest(query)
        let limit = paging.limit
        var cursor = paging.cursor
        var matches: [[StoredMessage]] = []
        var scanned = 0
        repeat {
            let page: ThreadPage
            do {
                page = try await store.listThreads(grant: grant.id, folderID: filter.folderID, cursor: cursor, limit: limit)
            } catch MailStoreError.invalidCursor {
                throw APIError(.invalidRequest, "page_token is not a cursor this API returned")
            } catch MailStoreError.noSuchFolder {
                throw APIError(.notFound, "no folder with id \(filter.folderID ?? "")")
            }
            matches += page.threads.filter(filter.matches)
            cursor = page.nextCursor
            scanned += 1
        } while matches.isEmpty && cursor != nil && scanned < MessagesController.maximumPagesScanned
        var objects: [ThreadObject] = []
        for messages in matches.prefix(limit) {
            objects.append(try await threadObject(messages, grant: grant))
        }
        return try JSONResponses.list(objects, nextCursor: cursor, context: context)
    }

    @Sendable func show(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        guard let id = context.parameters.get("thread_id"), !id.isEmpty, id.count <= 64 else { throw APIError(.notFound, "no such thread") }
        let messages = try await store.threadMessages(grant: grant.id, threadID: id)
        guard !messages.isEmpty else { throw APIError(.notFound, "no thread with id \(id)") }
        return try JSONResponses.data(try await threadObject(messages, grant: grant), context: context)
    }

    private func threadObject(_ messages: [StoredMessage], grant: Grant) async throws -> ThreadObject {
        let latest = messages.last!
        let raw = try await store.message(grant: grant.id, id: latest.id, includeRaw: true)?.raw
        return ThreadObject(messages: messages, latestParsed: raw.map { MIMEMessage(parsing: $0) })
    }

}

/// The filters of `GET /threads`: a thread matches when its messages together do.
struct ThreadFilter {
    var folderID: String?
    var unread: Bool?
    var starred: Bool?
    var subject: String?
    var anyEmail: [String] = []

    init(query: FormQuery) throws {
        let messageFilter = try MessageFilter(query: query)
        folderID = messageFilter.folderID
        unread = messageFilter.unread
        starred = messageFilter.starred
        subject = messageFilter.subject
        anyEmail = messageFilter.anyEmail
    }

    func matches(_ messages: [StoredMessage]) -> Bool {
        if let unread, messages.contains(where: \.unread) != unread { return false }
        if let starred, messages.contains(where: \.starred) != starred { return false }
        if let subject, !messages.contains(where: { $0.facts.subject?.lowercased().contains(subject) ?? false }) { return false }
        if !anyEmail.isEmpty {
            let everyone = messages.flatMap { $0.facts.from + $0.facts.to + $0.facts.cc + $0.facts.bcc }.map { $0.email.lowercased() }
            if !everyone.contains(where: anyEmail.contains) { return false }
        }
        return true
    }
}
