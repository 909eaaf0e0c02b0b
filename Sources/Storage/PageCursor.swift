import MailCore

/// The cursor of lists ordered newest first: `<internal date>:<id>` of the last item returned.
struct PageCursor: Sendable {
    var date: Int64
    var id: String

    init(date: Int64, id: String) {
        self.date = date
        self.id = id
    }

    /// Nil for the first page; throws `invalidCursor` for text this store did not write.
    static func parse(_ text: String?) throws(MailStoreError) -> PageCursor? {
        guard let text else { return nil }
        guard let colon = text.firstIndex(of: ":"), let date = Int64(text[..<colon]) else { throw .invalidCursor }
        return PageCursor(date: date, id: String(text[text.index(after: colon)...]))
    }

    var text: String { "\(date):\(id)" }
}
