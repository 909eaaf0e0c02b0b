/// What the server advertises (RFC 9051 6.1.1), by connection state: nothing that is not
/// implemented, no login mechanism in clear text (RFC 9051 11.1).
enum IMAPCapabilities {
    static let always = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE", "NAMESPACE"]

    static func list(isTLS: Bool, authenticated: Bool) -> [String] {
        if authenticated { return always }
        if isTLS { return always + ["AUTH=PLAIN"] }
        return always + ["STARTTLS", "LOGINDISABLED"]
    }
}
