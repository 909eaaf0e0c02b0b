/// What the server advertises (RFC 9051 6.1.1), by connection state: nothing that is not
/// implemented, no login mechanism in clear text (RFC 9051 11.1).
enum IMAPCapabilities {
    static let always = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE", "NAMESPACE"]
    /// Extensions of the authenticated state (RFC 3501 clients may use only what is listed).
    static let afterLogin = [
        "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE", "ESEARCH", "MULTIAPPEND", "BINARY",
        "QUOTA", "QUOTA=RES-STORAGE",
    ]

    /// The extensions are listed before login too: some clients (Python's imaplib, and
    /// libraries on it) read capabilities once, at connection time.
    static func list(isTLS: Bool, authenticated: Bool) -> [String] {
        if authenticated { return always + afterLogin }
        if isTLS { return always + afterLogin + ["AUTH=PLAIN"] }
        return always + afterLogin + ["STARTTLS", "LOGINDISABLED"]
    }
}
