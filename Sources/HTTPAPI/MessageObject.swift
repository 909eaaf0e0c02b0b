import MIME
import MailCore

/// A message as the API shows it (Nylas v3 field names).
struct MessageObject: Encodable, Sendable {
    struct Address: Encodable, Sendable {
        let name: String?
        let email: String
        init(_ participant: Participant) {
            name = participant.name
            email = participant.email
        }
    }

    struct AttachmentObject: Encodable, Sendable {
        let id: String
        let grantID: String
        let filename: String?
        let contentType: String
        let size: Int
        let contentID: String?
        let contentDisposition: String
        let isInline: Bool

        enum CodingKeys: String, CodingKey {
            case id, filename, size
            case grantID = "grant_id"
            case contentType = "content_type"
            case contentID = "content_id"
            case contentDisposition = "content_disposition"
            case isInline = "is_inline"
        }
    }

    let id: String
    let grantID: String
    /// `message`, or `draft` when shown through `/drafts`.
    let object: String
    let threadID: String
    let subject: String?
    let from: [Address]
    let to: [Address]
    let cc: [Address]
    let bcc: [Address]
    let replyTo: [Address]
    let date: Int64
    let createdAt: Int64
    let unread: Bool
    let starred: Bool
    let folders: [String]
    let snippet: String
    let body: String?
    let attachments: [AttachmentObject]?
    let headers: [[String: String]]?

    /// `raw` (the parsed message) gives the body, attachments and, when asked, the headers.
    init(_ message: StoredMessage, parsed: MIMEMessage?, includeHeaders: Bool, object: String = "message") {
        self.object = object
        id = message.id
        grantID = message.grantID.rawValue
        threadID = message.threadID
        subject = message.facts.subject
        from = message.facts.from.map(Address.init)
        to = message.facts.to.map(Address.init)
        cc = message.facts.cc.map(Address.init)
        bcc = message.facts.bcc.map(Address.init)
        replyTo = message.facts.replyTo.map(Address.init)
        date = message.facts.sentDate ?? message.internalDate
        createdAt = message.createdAt
        unread = message.unread
        starred = message.starred
        folders = [message.folderID]
        snippet = message.facts.snippet
        if let parsed {
            let summary = parsed.summary()
            body = summary.htmlBody ?? summary.textBody ?? ""
            attachments = summary.attachments.map { attachment in
                AttachmentObject(
                    id: AttachmentID.make(section: attachment.sectionPath), grantID: message.grantID.rawValue,
                    filename: attachment.filename, contentType: attachment.contentType, size: attachment.size,
                    contentID: attachment.contentID, contentDisposition: attachment.isInline ? "inline" : "attachment",
                    isInline: attachment.isInline)
            }
            headers = includeHeaders
                ? parsed.root.headers.map { ["name": $0.name, "value": parsed.decodedValue(of: $0)] }
                : nil
        } else {
            body = nil
            attachments = nil
            headers = nil
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, object, subject, from, to, cc, bcc, date, unread, starred, folders, snippet, body, attachments, headers
        case grantID = "grant_id"
        case threadID = "thread_id"
        case replyTo = "reply_to"
        case createdAt = "created_at"
    }
}

/// Attachment ids name the MIME section that holds the attachment (`s2.1` is section 2.1), so
/// downloading needs no table of its own.
enum AttachmentID {
    static func make(section: [Int]) -> String { "s" + section.map(String.init).joined(separator: ".") }

    static func section(_ id: String) -> [Int]? {
        guard id.hasPrefix("s"), id.count <= 64 else { return nil }
        let numbers = id.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard !numbers.isEmpty, numbers.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return numbers.compactMap { $0 }
    }
}

/// A folder as the API shows it.
struct FolderObject: Encodable, Sendable {
    let id: String
    let grantID: String
    let object = "folder"
    let name: String
    let parentID: String?
    let systemFolder: Bool
    let attributes: [String]
    let childCount: Int
    let unreadCount: Int
    let totalCount: Int

    init(_ folder: MailFolder, grant: GrantID, childCount: Int) {
        id = folder.id
        grantID = grant.rawValue
        name = folder.name
        parentID = folder.parentID
        systemFolder = folder.systemFolder != nil
        attributes = folder.specialUse.map { [$0] } ?? []
        self.childCount = childCount
        unreadCount = folder.unseenCount
        totalCount = folder.totalCount
    }

    enum CodingKeys: String, CodingKey {
        case id, object, name, attributes
        case grantID = "grant_id"
        case parentID = "parent_id"
        case systemFolder = "system_folder"
        case childCount = "child_count"
        case unreadCount = "unread_count"
        case totalCount = "total_count"
    }
}
