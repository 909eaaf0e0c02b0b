/// `SELECT INBOX` of a mailbox holding `exists` messages, the first unseen (when `unseen`),
/// `recent` of them recent here; then the transcript goes on.
func selectInbox(exists: Int, recent: Int, unseen: Bool = true, tag: String = "s") -> String {
    """
    C: \(tag) SELECT INBOX
    S: * FLAGS (…)
    S: * OK [PERMANENTFLAGS (…)] …
    S: * \(exists) EXISTS
    S: * \(recent) RECENT
    S: * OK [UIDVALIDITY …] UIDs valid
    S: * OK [UIDNEXT \(exists + 1)] Predicted next UID
    S: * OK [HIGHESTMODSEQ …] Highest
    S: * OK [MAILBOXID (…)] Mailbox id\(unseen ? "\nS: * OK [UNSEEN 1] First unseen" : "")
    S: \(tag) OK [READ-WRITE] SELECT completed

    """
}
