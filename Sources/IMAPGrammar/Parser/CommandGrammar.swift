/// Command dispatch and the commands of RFC 9051 sections 6.1 and 6.2, plus ID, ENABLE and QUOTA.
extension GrammarCursor {
    /// Names `commandName(...)` recognises; used to reject unknown commands before a literal.
    static let knownCommands: Set<String> = [
        "CAPABILITY", "NOOP", "LOGOUT", "ID", "STARTTLS", "LOGIN", "AUTHENTICATE", "ENABLE",
        "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB",
        "NAMESPACE", "STATUS", "APPEND", "IDLE", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA",
        "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "UID",
        "UNAUTHENTICATE", "SORT", "THREAD", "SETACL", "DELETEACL", "GETACL", "LISTRIGHTS", "MYRIGHTS",
        "GETMETADATA", "SETMETADATA", "COMPRESS", "NOTIFY",
    ]

    // command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF
    mutating func taggedCommand() throws(GrammarError) -> TaggedCommand {
        let tag = try self.tag()
        try space()
        let name = keyword()
        let command = try commandBody(name)
        try endOfLine()
        return TaggedCommand(tag: tag, command: command)
    }

    mutating func commandBody(_ name: String) throws(GrammarError) -> Command {
        switch name {
        // command-any = "CAPABILITY" / "LOGOUT" / "NOOP" / x-command / id
        case "CAPABILITY": return .capability
        case "NOOP": return .noop
        case "LOGOUT": return .logout
        case "ID": try space(); return .id(try idParameters())
        // command-nonauth = login / authenticate / "STARTTLS"
        case "STARTTLS": return .startTLS
        case "LOGIN": return try login()
        case "AUTHENTICATE": return try authenticate()
        // command-auth = append / create / delete / enable / examine / list / namespace-command /
        //                rename / select / status / subscribe / unsubscribe / idle / lsub / getquota ...
        case "ENABLE": return try enable()
        case "SELECT": try space(); let (m, p) = try selectArguments(); return .select(m, p)
        case "EXAMINE": try space(); let (m, p) = try selectArguments(); return .examine(m, p)
        case "CREATE": return try create()
        case "DELETE": try space(); return .delete(try mailbox())
        case "RENAME":
            try space()
            let from = try mailbox()
            try space()
            return .rename(from: from, to: try mailbox())
        case "SUBSCRIBE": try space(); return .subscribe(try mailbox())
        case "UNSUBSCRIBE": try space(); return .unsubscribe(try mailbox())
        case "LIST": return .list(try list())
        case "LSUB":
            try space()
            let reference = try mailbox()
            try space()
            return .lsub(reference: reference, pattern: try listMailbox())
        case "NAMESPACE": return .namespace
        // RFC 8437: command-auth =/ "UNAUTHENTICATE"
        case "UNAUTHENTICATE": return .unauthenticate
        // RFC 4978: compress = "COMPRESS" SP algorithm ; algorithm = "DEFLATE"
        case "COMPRESS": try space(); return .compress(try atom().uppercased())
        // RFC 5465: command-auth =/ notify
        case "NOTIFY": return try notify()
        case "STATUS": return try status()
        case "IDLE": return .idle
        case "GETQUOTA": try space(); return .getQuota(root: try astringText())
        case "GETQUOTAROOT": try space(); return .getQuotaRoot(try mailbox())
        case "SETQUOTA": return try setQuota()
        // RFC 4314: command-auth =/ setacl / deleteacl / getacl / listrights / myrights
        case "SETACL": return try setACL()
        case "DELETEACL": let (m, i) = try mailboxAndIdentifier(); return .deleteACL(m, identifier: i)
        case "GETACL": try space(); return .getACL(try mailbox())
        case "LISTRIGHTS": let (m, i) = try mailboxAndIdentifier(); return .listRights(m, identifier: i)
        case "MYRIGHTS": try space(); return .myRights(try mailbox())
        // RFC 5464: command-auth =/ setmetadata / getmetadata
        case "GETMETADATA": return try getMetadata()
        case "SETMETADATA": return try setMetadata()
        case "APPEND":
            // APPEND always arrives with a message literal, which the framer streams.
            throw .syntax("APPEND requires a message literal")
        // command-select = "CHECK" / "CLOSE" / "UNSELECT" / expunge / copy / move / fetch / store / search / uid
        case "CHECK": return .check
        case "CLOSE": return .close
        case "UNSELECT": return .unselect
        case "EXPUNGE": return .expunge
        case "SEARCH": return .search(try search())
        case "SORT": return .sort(try sort())
        case "THREAD": return .thread(try thread())
        case "FETCH": return .fetch(try fetch())
        case "STORE": return .store(try store())
        case "COPY": try space(); let (s, m) = try copyArguments(); return .copy(s, m)
        case "MOVE": try space(); let (s, m) = try copyArguments(); return .move(s, m)
        case "UID": return try uid()
        default:
            throw GrammarError(kind: .unknownCommand, message: name.isEmpty ? "missing command" : "unknown command \(name)")
        }
    }

    // uid = "UID" SP ("COPY" / "MOVE" / "FETCH" / "SEARCH" / "STORE" / "EXPUNGE" SP sequence-set)
    //       / "UID" SP ("SORT" / "THREAD")   (RFC 5256)
    mutating func uid() throws(GrammarError) -> Command {
        try space()
        let name = keyword()
        switch name {
        case "COPY": try space(); let (s, m) = try copyArguments(); return .uidCopy(s, m)
        case "MOVE": try space(); let (s, m) = try copyArguments(); return .uidMove(s, m)
        case "FETCH": return .uidFetch(try fetch())
        case "SEARCH": return .uidSearch(try search())
        case "SORT": return .uidSort(try sort())
        case "THREAD": return .uidThread(try thread())
        case "STORE": return .uidStore(try store())
        case "EXPUNGE": try space(); return .uidExpunge(try sequenceSet())
        default: throw GrammarError(kind: .unknownCommand, message: "unknown UID command \(name)")
        }
    }

    // copy = "COPY" SP sequence-set SP mailbox
    // move = "MOVE" SP sequence-set SP mailbox
    mutating func copyArguments() throws(GrammarError) -> (SequenceSet, MailboxName) {
        let set = try sequenceSet()
        try space()
        return (set, try mailbox())
    }

    // login = "LOGIN" SP userid SP password
    // userid = astring ; password = astring
    mutating func login() throws(GrammarError) -> Command {
        try space()
        let user = try astringText()
        try space()
        return .login(username: user, password: try astringText())
    }

    // authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]
    // auth-type    = atom
    // initial-resp = (base64 / "=")
    mutating func authenticate() throws(GrammarError) -> Command {
        try space()
        let mechanism = try atom().uppercased()
        guard take(0x20) else { return .authenticate(mechanism: mechanism, initialResponse: nil) }
        if take(0x3D) && atEndOfLine { return .authenticate(mechanism: mechanism, initialResponse: .empty) }
        let start = index
        while let b = peek(), b != 0x0D, b != 0x0A { index += 1 }
        guard let data = Base64.decode(bytes[start..<index]), index > start else {
            throw .syntax("invalid base64 initial response")
        }
        return .authenticate(mechanism: mechanism, initialResponse: .data(data))
    }

    // enable = "ENABLE" 1*(SP capability)
    // capability = ("AUTH=" auth-type) / atom
    mutating func enable() throws(GrammarError) -> Command {
        var capabilities: [String] = []
        while take(0x20) {
            capabilities.append(try atom().uppercased())
            guard capabilities.count <= limits.maxListItems else {
                throw GrammarError(kind: .tooManyItems, message: "too many capabilities")
            }
        }
        guard !capabilities.isEmpty else { throw .syntax("ENABLE needs a capability") }
        return .enable(capabilities)
    }

    // id-params-list = "(" #(string SP nstring) ")" / nil   (RFC 2971)
    mutating func idParameters() throws(GrammarError) -> [IDField]? {
        if take("NIL") { return nil }
        let fields = try parenthesizedList(limit: IDField.maxPairs) { (c: inout GrammarCursor) throws(GrammarError) -> IDField in
            let key = String(decoding: try c.string(), as: UTF8.self)
            try c.space()
            let value = try c.nstring().map { String(decoding: $0, as: UTF8.self) }
            return IDField(key, value)
        }
        return fields
    }

    // setquota = "SETQUOTA" SP quota-root-name SP setquota-list
    // setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"
    // setquota-resource = resource-name SP resource-limit
    mutating func setQuota() throws(GrammarError) -> Command {
        try space()
        let root = try astringText()
        try space()
        let limits = try parenthesizedList { (c: inout GrammarCursor) throws(GrammarError) -> QuotaLimit in
            let name = try c.atom().uppercased()
            try c.space()
            return QuotaLimit(resource: name, limit: try c.number64())
        }
        return .setQuota(root: root, limits)
    }
}
