/// A complete IMAP command, without its tag (RFC 9051 section 6, RFC 3501 section 6).
///
/// APPEND is not here: its message bytes are streamed through ``ParseResult`` events
/// (``ParseResult/appendStart(tag:mailbox:)`` and following) so they are never buffered twice.
public enum Command: Hashable, Sendable {
    // Any state (RFC 9051 section 6.1)
    case capability
    case noop
    case logout
    /// `ID NIL` is nil (RFC 2971).
    case id([IDField]?)

    // Not authenticated (section 6.2)
    case startTLS
    case login(username: String, password: String)
    case authenticate(mechanism: String, initialResponse: InitialResponse?)

    // Authenticated (section 6.3)
    /// Capability names, upper-cased (RFC 5161).
    case enable([String])
    case select(MailboxName, [SelectParameter])
    case examine(MailboxName, [SelectParameter])
    case create(MailboxName, [CreateParameter])
    case delete(MailboxName)
    case rename(from: MailboxName, to: MailboxName)
    case subscribe(MailboxName)
    case unsubscribe(MailboxName)
    case list(ListCommand)
    /// `LSUB reference pattern` (IMAP4rev1 only).
    case lsub(reference: MailboxName, pattern: String)
    case namespace
    case status(MailboxName, [StatusAttribute])
    case idle
    case getQuota(root: String)
    case getQuotaRoot(MailboxName)
    case setQuota(root: String, [QuotaLimit])
    // ACL (RFC 4314 section 3)
    case setACL(MailboxName, identifier: String, RightsModification)
    case deleteACL(MailboxName, identifier: String)
    case getACL(MailboxName)
    case listRights(MailboxName, identifier: String)
    case myRights(MailboxName)
    // METADATA (RFC 5464 section 4); the empty mailbox name means the server's entries.
    case getMetadata(MailboxName, options: MetadataOptions, entries: [String])
    case setMetadata(MailboxName, [MetadataEntry])

    // Selected (section 6.4)
    case check
    case close
    case unselect
    /// `NOTIFY SET ...` / `NOTIFY NONE` (RFC 5465).
    case notify(NotifyCommand)
    /// `COMPRESS mechanism` (RFC 4978), mechanism upper-cased.
    case compress(String)
    /// Back to the not-authenticated state on the same connection (RFC 8437).
    case unauthenticate
    case expunge
    case uidExpunge(SequenceSet)
    case search(SearchCommand)
    case uidSearch(SearchCommand)
    case sort(SortCommand)
    case uidSort(SortCommand)
    case thread(ThreadCommand)
    case uidThread(ThreadCommand)
    case fetch(FetchCommand)
    case uidFetch(FetchCommand)
    case store(StoreCommand)
    case uidStore(StoreCommand)
    case copy(SequenceSet, MailboxName)
    case uidCopy(SequenceSet, MailboxName)
    case move(SequenceSet, MailboxName)
    case uidMove(SequenceSet, MailboxName)
}

extension Command {
    /// The command name as a client writes it (`UID FETCH`), for logs and state checks.
    public var name: String {
        switch self {
        case .capability: return "CAPABILITY"
        case .noop: return "NOOP"
        case .logout: return "LOGOUT"
        case .id: return "ID"
        case .startTLS: return "STARTTLS"
        case .login: return "LOGIN"
        case .authenticate: return "AUTHENTICATE"
        case .enable: return "ENABLE"
        case .select: return "SELECT"
        case .examine: return "EXAMINE"
        case .create: return "CREATE"
        case .delete: return "DELETE"
        case .rename: return "RENAME"
        case .subscribe: return "SUBSCRIBE"
        case .unsubscribe: return "UNSUBSCRIBE"
        case .list: return "LIST"
        case .lsub: return "LSUB"
        case .namespace: return "NAMESPACE"
        case .status: return "STATUS"
        case .idle: return "IDLE"
        case .getQuota: return "GETQUOTA"
        case .getQuotaRoot: return "GETQUOTAROOT"
        case .setQuota: return "SETQUOTA"
        case .setACL: return "SETACL"
        case .deleteACL: return "DELETEACL"
        case .getACL: return "GETACL"
        case .listRights: return "LISTRIGHTS"
        case .myRights: return "MYRIGHTS"
        case .getMetadata: return "GETMETADATA"
        case .setMetadata: return "SETMETADATA"
        case .check: return "CHECK"
        case .close: return "CLOSE"
        case .unselect: return "UNSELECT"
        case .unauthenticate: return "UNAUTHENTICATE"
        case .compress: return "COMPRESS"
        case .notify: return "NOTIFY"
        case .expunge: return "EXPUNGE"
        case .uidExpunge: return "UID EXPUNGE"
        case .search: return "SEARCH"
        case .uidSearch: return "UID SEARCH"
        case .sort: return "SORT"
        case .uidSort: return "UID SORT"
        case .thread: return "THREAD"
        case .uidThread: return "UID THREAD"
        case .fetch: return "FETCH"
        case .uidFetch: return "UID FETCH"
        case .store: return "STORE"
        case .uidStore: return "UID STORE"
        case .copy: return "COPY"
        case .uidCopy: return "UID COPY"
        case .move: return "MOVE"
        case .uidMove: return "UID MOVE"
        }
    }
}
