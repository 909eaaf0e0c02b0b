import Foundation
import Hummingbird
import MIME
import MailCore
import NIOCore

/// `/v3/grants/{grant_id}/messages`, attachments and folders: the mailbox IMAP clients see,
/// through JSON.
struct MessagesController {
    /// Store pages read for one filtered list request before answering with what matched.
    static let maximumPagesScanned = 20

    let grants: GrantService
    let store: any MailStore
    let jsonBodyLimit: Int

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("grants/{grant_id}/messages", use: list)
        group.get("grants/{grant_id}/messages/{message_id}", use: show)
        group.put("grants/{grant_id}/messages/{message_id}", use: update)
        group.delete("grants/{grant_id}/messages/{message_id}", use: delete)
        group.get("grants/{grant_id}/attachments/{attachment_id}/download", use: download)
        group.get("grants/{grant_id}/folders", use: folders)
        group.post("grants/{grant_id}/folders", use: createFolder)
        group.get("grants/{grant_id}/folders/{folder_id}", use: folder)
        group.put("grants/{grant_id}/folders/{folder_id}", use: renameFolder)
        group.delete("grants/{grant_id}/folders/{folder_id}", use: deleteFolder)
    }

    // MARK: - Messages

    @Sendable func list(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let query = FormQuery(request.uri.query)
        let filter = try MessageFilter(query: query)
        let paging = try PageRequest(query)
        let limit = paging.limit
        let selected = query["select"].map { Set($0.split(separator: ",").map { String($0).trimmingWhitespace() }) }
        let wantsBody = selected == nil || selected!.contains("body") || selected!.contains("attachments")
        var cursor = paging.cursor
        var matches: [StoredMessage] = []
        var scanned = 0
        repeat {
            let page: MessagePage
            do {
                page = try await store.listMessages(grant: grant.id, folderID: filter.folderID, cursor: cursor, limit: limit)
            } catch MailStoreError.invalidCursor {
                throw APIError(.invalidRequest, "page_token is not a cursor this API returned")
            } catch MailStoreError.noSuchFolder {
                throw APIError(.notFound, "no folder with id \(filter.folderID ?? "")")
            }
            var candidates = page.messages.filter(filter.matches)
            if let search = filter.nativeSearch {
                if search.needsRaw {
                    candidates = try await store.messages(grant: grant.id, ids: candidates.map(\.id), includeRaw: true)
                }
                candidates = candidates.filter { search.matches($0, raw: $0.raw) }
            }
            matches += candidates
            cursor = page.nextCursor
            scanned += 1
        } while matches.isEmpty && cursor != nil && scanned < Self.maximumPagesScanned
        let page = Array(matches.prefix(limit))
        let withBytes = wantsBody ? try await store.messages(grant: grant.id, ids: page.map(\.id), includeRaw: true) : []
        let raws = Dictionary(withBytes.map { ($0.id, $0.raw) }, uniquingKeysWith: { first, _ in first })
        let objects = page.map { message in
            MessageObject(message, parsed: (raws[message.id] ?? nil).map { MIMEMessage(parsing: $0) }, includeHeaders: false)
        }
        guard let selected else { return try JSONResponses.list(objects, nextCursor: cursor, context: context) }
        return try JSONResponses.sparseList(objects, fields: selected.union(["id", "grant_id", "object"]), nextCursor: cursor, context: context)
    }

    @Sendable func show(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let message = try await storedMessage(grant, context, includeRaw: true)
        let fields = request.uri.queryParameters["fields"].map(String.init)
        if fields == "raw_mime" {
            struct RawMIME: Encodable {
                let id: String, grantID: String, object = "message", rawMime: String
                enum CodingKeys: String, CodingKey { case id, object, grantID = "grant_id", rawMime = "raw_mime" }
            }
            let encoded = Base64URL.encode(message.raw ?? [])
            return try JSONResponses.data(RawMIME(id: message.id, grantID: grant.id.rawValue, rawMime: encoded), context: context)
        }
        let parsed = message.raw.map { MIMEMessage(parsing: $0) }
        return try JSONResponses.data(MessageObject(message, parsed: parsed, includeHeaders: fields == "include_headers"), context: context)
    }

    struct MessageUpdateRequest: Decodable {
        let unread: Bool?
        let starred: Bool?
        let folders: [String]?
        let metadata: [String: String]?
    }

    @Sendable func update(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let id = try messageID(context)
        let body = try await JSONBody.decode(MessageUpdateRequest.self, from: request, limit: jsonBodyLimit)
        if let folders = body.folders, folders.count != 1 {
            throw APIError(.invalidRequest, "folders must name exactly one folder: a message lives in one folder")
        }
        let updated: StoredMessage
        do {
            updated = try await store.updateMessage(grant: grant.id, id: id,
                                                    MessageUpdate(unread: body.unread, starred: body.starred, folderID: body.folders?.first))
        } catch MailStoreError.noSuchMessage {
            throw APIError(.notFound, "no message with id \(id)")
        } catch MailStoreError.noSuchFolder {
            throw APIError(.notFound, "folders names a folder that does not exist")
        }
        let raw = try await store.message(grant: grant.id, id: id, includeRaw: true)?.raw
        return try JSONResponses.data(MessageObject(updated, parsed: raw.map { MIMEMessage(parsing: $0) }, includeHeaders: false), context: context)
    }

    @Sendable func delete(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let id = try messageID(context)
        do {
            try await store.deleteMessage(grant: grant.id, id: id)
        } catch MailStoreError.noSuchMessage {
            throw APIError(.notFound, "no message with id \(id)")
        }
        return try JSONResponses.empty(context: context)
    }

    @Sendable func download(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        guard let attachmentID = context.parameters.get("attachment_id"), let section = AttachmentID.section(attachmentID) else {
            throw APIError(.notFound, "no such attachment")
        }
        guard let messageID = request.uri.queryParameters["message_id"].map(String.init), !messageID.isEmpty else {
            throw APIError(.invalidRequest, "message_id is required")
        }
        guard let message = try await store.message(grant: grant.id, id: messageID, includeRaw: true), let raw = message.raw else {
            throw APIError(.notFound, "no message with id \(messageID)")
        }
        let parsed = MIMEMessage(parsing: raw)
        guard let attachment = parsed.summary().attachments.first(where: { $0.sectionPath == section }),
              let binary = parsed.binary(section: section), case .content(let bytes) = binary else {
            throw APIError(.notFound, "no attachment \(attachmentID) in message \(messageID)")
        }
        var headers: HTTPFields = [.contentType: attachment.contentType]
        if let filename = attachment.filename {
            headers[.contentDisposition] = Self.contentDisposition(filename: filename)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: - Folders

    @Sendable func folders(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let all = try await store.folders(grant: grant.id)
        let objects = all.map { folder in
            FolderObject(folder, grant: grant.id, childCount: all.filter { $0.parentID == folder.id }.count)
        }
        return try JSONResponses.list(objects, nextCursor: nil, context: context)
    }

    @Sendable func folder(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let folder = try await storedFolder(grant, context)
        let all = try await store.folders(grant: grant.id)
        return try JSONResponses.data(FolderObject(folder, grant: grant.id, childCount: all.filter { $0.parentID == folder.id }.count), context: context)
    }

    struct FolderRequest: Decodable {
        let name: String?
        let parentID: String?
        enum CodingKeys: String, CodingKey {
            case name
            case parentID = "parent_id"
        }
    }

    /// The IMAP name for a folder named `name` under `parentID`.
    private func fullName(_ grant: Grant, _ body: FolderRequest) async throws -> String {
        guard let name = body.name?.trimmingWhitespace(), !name.isEmpty else { throw APIError(.invalidRequest, "name is required") }
        guard let parentID = body.parentID else { return name }
        guard let parent = try await store.folder(grant: grant.id, id: parentID) else {
            throw APIError(.notFound, "parent_id names a folder that does not exist")
        }
        return "\(parent.name)\(MailFolder.hierarchyDelimiter)\(name)"
    }

    @Sendable func createFolder(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let body = try await JSONBody.decode(FolderRequest.self, from: request, limit: jsonBodyLimit)
        let created: MailFolder
        do {
            created = try await store.createFolder(grant: grant.id, name: try await fullName(grant, body))
        } catch let error as MailStoreError {
            throw Self.apiError(error)
        }
        try await store.subscribe(grant: grant.id, names: [created.name])
        return try JSONResponses.data(FolderObject(created, grant: grant.id, childCount: 0), context: context)
    }

    @Sendable func renameFolder(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let folder = try await storedFolder(grant, context)
        let body = try await JSONBody.decode(FolderRequest.self, from: request, limit: jsonBodyLimit)
        let renamed: MailFolder
        do {
            renamed = try await store.renameFolder(grant: grant.id, id: folder.id, to: try await fullName(grant, body))
        } catch let error as MailStoreError {
            throw Self.apiError(error)
        }
        try await moveSubscriptions(grant.id, from: folder.name, to: renamed.name)
        let all = try await store.folders(grant: grant.id)
        return try JSONResponses.data(FolderObject(renamed, grant: grant.id, childCount: all.filter { $0.parentID == renamed.id }.count),
                                      context: context)
    }

    @Sendable func deleteFolder(request: Request, context: APIRequestContext) async throws -> Response {
        let grant = try await grants.localGrant(context)
        let folder = try await storedFolder(grant, context)
        do {
            try await store.deleteFolder(grant: grant.id, id: folder.id)
        } catch let error as MailStoreError {
            throw Self.apiError(error)
        }
        try await moveSubscriptions(grant.id, from: folder.name, to: nil)
        return try JSONResponses.empty(context: context)
    }

    /// The API has no subscriptions, so its folder changes keep the IMAP subscription list in step:
    /// a folder it creates is subscribed (mail clients that show only subscribed folders show it), a
    /// rename carries the subscriptions of the folder and its children along, a deletion drops those
    /// of folders that are gone. IMAP's own RENAME and DELETE leave the list alone (RFC 3501 6.3.4, 6.3.5).
    private func moveSubscriptions(_ grant: GrantID, from oldName: String, to newName: String?) async throws {
        let affected = try await store.subscriptions(grant: grant).filter { $0 == oldName || $0.hasPrefix(oldName + "/") }
        guard !affected.isEmpty else { return }
        if let newName {
            try await store.unsubscribe(grant: grant, names: affected)
            try await store.subscribe(grant: grant, names: affected.map { newName + $0.dropFirst(oldName.count) })
        } else {
            let remaining = Set(try await store.folders(grant: grant).map(\.name))
            try await store.unsubscribe(grant: grant, names: affected.filter { !remaining.contains($0) })
        }
    }

    // MARK: - Helpers

    /// `attachment; filename="..."` with an ASCII fallback, plus `filename*` (RFC 8187) when the
    /// name is not plain ASCII: header values stay ASCII (RFC 9110 5.5) and quotes or line
    /// breaks in a name cannot escape the value.
    static func contentDisposition(filename: String) -> String {
        let fallback = String(filename.unicodeScalars.map { scalar -> Character in
            (0x20..<0x7F).contains(scalar.value) && scalar != "\"" && scalar != "\\" ? Character(scalar) : "_"
        })
        var value = "attachment; filename=\"\(fallback)\""
        if filename.unicodeScalars.contains(where: { !(0x20..<0x7F).contains($0.value) || $0 == "\"" || $0 == "\\" }) {
            let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~".utf8)
            let encoded = filename.utf8.map { unreserved.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }.joined()
            value += "; filename*=UTF-8''\(encoded)"
        }
        return value
    }

    static func apiError(_ error: MailStoreError) -> APIError {
        switch error {
        case .cannotModifySystemFolder: APIError(.invalidRequest, "system folders cannot be renamed or deleted")
        case .folderExists: APIError(.conflict, "a folder with that name already exists")
        case .invalidFolderName(let why): APIError(.invalidRequest, "invalid folder name: \(why)")
        case .noSuchFolder: APIError(.notFound, "no such folder")
        case .noSuchMessage: APIError(.notFound, "no such message")
        case .overQuota(let limit): APIError(.tooLarge, "the grant's storage quota (\(limit) bytes) is exhausted")
        case .noSuchGrant: APIError(.notFound, "no such grant")
        case .invalidCursor: APIError(.invalidRequest, "page_token is not a cursor this API returned")
        // The API's sends check neither (the API key is the credential; the pipeline retries on new rules).
        case .credentialsChanged: APIError(.unauthorized, "the grant's credentials changed")
        case .rulesChanged: APIError(.unavailable, "the rules changed while the send was checked; try again")
        }
    }


    private func messageID(_ context: APIRequestContext) throws -> String {
        guard let id = context.parameters.get("message_id"), !id.isEmpty, id.count <= 64 else { throw APIError(.notFound, "no such message") }
        return id
    }

    private func storedMessage(_ grant: Grant, _ context: APIRequestContext, includeRaw: Bool) async throws -> StoredMessage {
        let id = try messageID(context)
        guard let message = try await store.message(grant: grant.id, id: id, includeRaw: includeRaw) else {
            throw APIError(.notFound, "no message with id \(id)")
        }
        return message
    }

    private func storedFolder(_ grant: Grant, _ context: APIRequestContext) async throws -> MailFolder {
        guard let id = context.parameters.get("folder_id"), id.count <= 64,
              let folder = try await store.folder(grant: grant.id, id: id) else {
            throw APIError(.notFound, "no folder with id \(context.parameters.get("folder_id") ?? "")")
        }
        return folder
    }
}
