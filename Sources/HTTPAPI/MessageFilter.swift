import Hummingbird
import MailCore

/// The list filters of `GET /v3/grants/{id}/messages`, checked against each stored message.
struct MessageFilter {
    var folderID: String?
    var unread: Bool?
    var starred: Bool?
    var subject: String?
    var from: [String] = []
    var to: [String] = []
    var cc: [String] = []
    var bcc: [String] = []
    var anyEmail: [String] = []
    var threadID: String?
    var receivedBefore: Int64?
    var receivedAfter: Int64?
    var hasAttachment: Bool?
    var nativeSearch: NativeSearch?

    init(query: FormQuery) throws {
        func text(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : $0 } }
        func flag(_ name: String) throws -> Bool? {
            guard let value = text(name) else { return nil }
            switch value.lowercased() {
            case "true": return true
            case "false": return false
            default: throw APIError(.invalidRequest, "\(name) must be true or false")
            }
        }
        func seconds(_ name: String) throws -> Int64? {
            guard let value = text(name) else { return nil }
            guard let number = Int64(value) else { throw APIError(.invalidRequest, "\(name) must be a Unix timestamp in seconds") }
            return number
        }
        func addresses(_ name: String) -> [String] {
            text(name).map { $0.split(separator: ",").map { String($0).trimmingWhitespace().lowercased() } } ?? []
        }
        folderID = text("in")
        unread = try flag("unread")
        starred = try flag("starred")
        subject = text("subject")?.lowercased()
        from = addresses("from")
        to = addresses("to")
        cc = addresses("cc")
        bcc = addresses("bcc")
        anyEmail = addresses("any_email")
        threadID = text("thread_id")
        receivedBefore = try seconds("received_before")
        receivedAfter = try seconds("received_after")
        hasAttachment = try flag("has_attachment")
        nativeSearch = try text("search_query_native").map(NativeSearch.init)
    }

    /// The filters that the stored facts answer; `nativeSearch` is checked apart, since it may need the bytes.
    func matches(_ message: StoredMessage) -> Bool {
        let facts = message.facts
        func any(_ wanted: [String], in participants: [Participant]) -> Bool {
            wanted.isEmpty || participants.contains { wanted.contains($0.email.lowercased()) }
        }
        if let unread, message.unread != unread { return false }
        if let starred, message.starred != starred { return false }
        if let subject, !(facts.subject?.lowercased().contains(subject) ?? false) { return false }
        if !any(from, in: facts.from) || !any(to, in: facts.to) || !any(cc, in: facts.cc) || !any(bcc, in: facts.bcc) { return false }
        if !anyEmail.isEmpty && !any(anyEmail, in: facts.from + facts.to + facts.cc + facts.bcc) { return false }
        if let threadID, message.threadID != threadID { return false }
        if let receivedBefore, message.internalDate >= receivedBefore { return false }
        if let receivedAfter, message.internalDate <= receivedAfter { return false }
        if let hasAttachment, facts.hasAttachments != hasAttachment { return false }
        return true
    }
}
