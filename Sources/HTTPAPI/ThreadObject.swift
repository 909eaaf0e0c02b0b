import MIME
import MailCore

/// A conversation as the API shows it (Nylas v3 field names), built from its messages.
struct ThreadObject: Encodable, Sendable {
    let id: String
    let grantID: String
    let object = "thread"
    let subject: String?
    let participants: [MessageObject.Address]
    let messageIDs: [String]
    let draftIDs: [String]
    let folders: [String]
    let hasAttachments: Bool
    let hasDrafts: Bool
    let starred: Bool
    let unread: Bool
    let earliestMessageDate: Int64
    let latestMessageReceivedDate: Int64?
    let latestMessageSentDate: Int64?
    let snippet: String
    let latestDraftOrMessage: MessageObject

    /// `messages` oldest first, never empty; `latest` is the newest one parsed (for its body).
    init(messages: [StoredMessage], latestParsed: MIMEMessage?) {
        let latest = messages.last!
        let isDraft = { (message: StoredMessage) in message.folderID == SystemFolder.drafts.apiID }
        let isSent = { (message: StoredMessage) in message.folderID == SystemFolder.sent.apiID }
        id = latest.threadID
        grantID = latest.grantID.rawValue
        subject = messages.first { $0.facts.subject != nil }?.facts.subject
        var seen = Set<String>()
        participants = messages.flatMap { $0.facts.from + $0.facts.to + $0.facts.cc }
            .filter { seen.insert($0.email.lowercased()).inserted }
            .map(MessageObject.Address.init)
        messageIDs = messages.filter { !isDraft($0) }.map(\.id)
        draftIDs = messages.filter(isDraft).map(\.id)
        var folderSet: [String] = []
        for message in messages where !folderSet.contains(message.folderID) { folderSet.append(message.folderID) }
        folders = folderSet
        hasAttachments = messages.contains { $0.facts.hasAttachments }
        hasDrafts = !draftIDs.isEmpty
        starred = messages.contains { $0.starred }
        unread = messages.contains { $0.unread }
        earliestMessageDate = messages.map { $0.facts.sentDate ?? $0.internalDate }.min() ?? latest.internalDate
        latestMessageReceivedDate = messages.filter { !isDraft($0) && !isSent($0) }.map(\.internalDate).max()
        latestMessageSentDate = messages.filter(isSent).map(\.internalDate).max()
        snippet = latest.facts.snippet
        latestDraftOrMessage = MessageObject(latest, parsed: latestParsed, includeHeaders: false, object: isDraft(latest) ? "draft" : "message")
    }

    enum CodingKeys: String, CodingKey {
        case id, object, subject, participants, folders, starred, unread, snippet
        case grantID = "grant_id"
        case messageIDs = "message_ids"
        case draftIDs = "draft_ids"
        case hasAttachments = "has_attachments"
        case hasDrafts = "has_drafts"
        case earliestMessageDate = "earliest_message_date"
        case latestMessageReceivedDate = "latest_message_received_date"
        case latestMessageSentDate = "latest_message_sent_date"
        case latestDraftOrMessage = "latest_draft_or_message"
    }
}
