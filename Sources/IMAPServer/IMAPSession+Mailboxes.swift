import IMAPGrammar
import MailCore
import Storage

/// Mailbox-level commands (RFC 9051 6.3): LIST, STATUS, SELECT, CREATE, DELETE, RENAME, ...
extension IMAPSession {
    /// The folder name a client's mailbox name stands for (modified UTF-7 decoded; INBOX in any case).
    /// A name that is not valid modified UTF-7 is well-formed IMAP, so it is `NO`, not `BAD`: no mailbox
    /// can have it (`[NONEXISTENT]`), and none can be made with it (`[CANNOT]` when `creating`).
    func folderName(_ mailbox: MailboxName, creating: Bool = false) throws(IMAPCommandError) -> String {
        if mailbox.isInbox { return "INBOX" }
        // IMAP4rev2 names are UTF-8 as they are: `&` is only a character there.
        if imap4rev2 { return mailbox.wire }
        do {
            // Before IMAP4rev2 names are 7-bit (RFC 3501 5.1.3): 8-bit bytes are no modified UTF-7.
            return try ModifiedUTF7.decode(mailbox.wire)
        } catch {
            throw IMAPCommandError(.no, code: creating ? .cannot : .nonExistent, "Mailbox name is not valid modified UTF-7")
        }
    }

    func lookUpFolder(_ grant: Grant, _ mailbox: MailboxName) async throws -> MailFolder {
        let name = try folderName(mailbox)
        guard let folder = try await context.store.folder(grant: grant.id, name: name) else {
            throw IMAPCommandError(.no, code: .nonExistent, "No such mailbox")
        }
        return folder
    }

    func list(_ grant: Grant, _ command: ListCommand, lsub: Bool) async throws -> [Response] {
        // RFC 5258 3: options the server does not know are a protocol error.
        for case .other(let name) in command.selectionOptions { throw IMAPCommandError(.bad, "Unknown LIST selection option \(name)") }
        var statusItems: [StatusAttribute]?
        for option in command.returnOptions {
            switch option {
            case .other(let name): throw IMAPCommandError(.bad, "Unknown LIST return option \(name)")
            case .status(let attributes): statusItems = (statusItems ?? []) + attributes
            default: break
            }
        }
        if !lsub, command.patterns.allSatisfy(\.isEmpty) {
            // RFC 9051 6.3.9: an empty pattern asks for the hierarchy delimiter.
            let entry = MailboxListEntry(attributes: [.noSelect], delimiter: MailFolder.hierarchyDelimiter, name: MailboxName(wire: ""))
            return [.untagged(lsub ? .lsub(entry) : .list(entry))]
        }
        let folders = try await context.store.folders(grant: grant.id)
        // Patterns are matched against names in the form the client sends them: modified UTF-7, or
        // UTF-8 when the pattern has 8-bit bytes (UTF8=ACCEPT). A pattern that is not valid modified
        // UTF-7 then simply matches no mailbox.
        let patterns = command.patterns.map { MailboxPattern(command.reference.wire + $0) }
        let utf8Names = imap4rev2
        func matches(_ name: String, _ patterns: [MailboxPattern]) -> Bool {
            if utf8Names { return patterns.contains { $0.matches(name) } }
            let wireName = ModifiedUTF7.encode(name)
            return patterns.contains { $0.matches($0.isUTF8 ? name : wireName) }
        }
        func matches(_ name: String) -> Bool { matches(name, patterns) }
        // RFC 3501 6.3.8: a pattern ending in `%` also returns the levels of hierarchy it matches.
        let levelPatterns = patterns.filter { $0.pattern.last == "%" }
        let subscribedOnly = lsub || command.selectionOptions.contains(.subscribed)
        let subscriptions: Set<String> = subscribedOnly || command.returnOptions.contains(.subscribed)
            ? Set(try await context.store.subscriptions(grant: grant.id)) : []
        let listing = MailboxListing(folders: folders, subscriptions: subscriptions, utf8Names: utf8Names)
        let specialUseOnly = command.selectionOptions.contains(.specialUse)
        let entries: [MailboxListEntry]
        if subscribedOnly {
            entries = listing.subscribedEntries(matching: matches, lsub: lsub,
                                                recursiveMatch: command.selectionOptions.contains(.recursiveMatch))
        } else {
            entries = listing.entries(matching: matches, levelsMatching: { matches($0, levelPatterns) },
                                      markingSubscribed: command.returnOptions.contains(.subscribed))
        }
        var responses: [Response] = []
        // LIST-STATUS (RFC 5819): each mailbox that can be selected is followed by its STATUS.
        let byName = Dictionary(folders.map { (utf8Names ? $0.name : ModifiedUTF7.encode($0.name), $0) }, uniquingKeysWith: { first, _ in first })
        if statusItems?.contains(.highestModSeq) == true { responses += beginCondstore() }
        for entry in entries {
            if specialUseOnly && !entry.attributes.contains(where: \.isSpecialUse) { continue }
            responses.append(.untagged(lsub ? .lsub(entry) : .list(entry)))
            if let statusItems, !lsub, !entry.attributes.contains(.noSelect), !entry.attributes.contains(.nonExistent),
               let folder = byName[entry.name.wire] {
                responses.append(.untagged(.status(entry.name, try await statusValues(grant, folder, statusItems))))
            }
        }
        return responses
    }

    /// SUBSCRIBE takes any name a mailbox could have, existing or not (RFC 3501 6.3.6 lets the server
    /// choose; a client may subscribe before it creates).
    func subscribe(_ grant: Grant, _ mailbox: MailboxName) async throws {
        let name = try folderName(mailbox, creating: true)
        guard let canonical = try? FolderName.validate(name) else {
            throw IMAPCommandError(.no, code: .cannot, "No mailbox can have this name")
        }
        try await context.store.subscribe(grant: grant.id, names: [canonical])
    }

    /// UNSUBSCRIBE of a name that is not subscribed is `NO` (RFC 9051 6.3.8: can't unsubscribe that name).
    func unsubscribe(_ grant: Grant, _ mailbox: MailboxName) async throws {
        let name = try folderName(mailbox)
        let canonical = (try? FolderName.validate(name)) ?? name
        guard try await !context.store.unsubscribe(grant: grant.id, names: [canonical]).isEmpty else {
            throw IMAPCommandError(.no, code: .nonExistent, "Not subscribed to this name")
        }
    }

    func status(_ grant: Grant, _ mailbox: MailboxName, _ attributes: [StatusAttribute]) async throws -> [Response] {
        let folder = try await lookUpFolder(grant, mailbox)
        // Asking for HIGHESTMODSEQ turns CONDSTORE on (RFC 7162 3.1).
        let news = attributes.contains(.highestModSeq) ? beginCondstore() : []
        return news + [.untagged(.status(mailbox, try await statusValues(grant, folder, attributes)))]
    }

    /// The STATUS items of `folder`, for STATUS and for LIST's STATUS return option.
    func statusValues(_ grant: Grant, _ folder: MailFolder, _ attributes: [StatusAttribute]) async throws -> [StatusValue] {
        var values: [StatusValue] = []
        for attribute in attributes {
            switch attribute {
            case .messages: values.append(StatusValue(.messages, UInt64(folder.totalCount)))
            case .recent:
                guard !imap4rev2 else { throw IMAPCommandError(.bad, "RECENT is not a STATUS item of IMAP4rev2") }
                // The selected mailbox's recent messages are this session's own, plus those that
                // arrived since it last looked and no session has claimed (RFC 3501 2.3.2).
                let count = if let selected, selected.folder.id == folder.id {
                    try await selected.recentCount + context.store.recentCount(grant: grant.id, folderID: folder.id, above: selected.largestUID)
                } else {
                    try await context.store.recentCount(grant: grant.id, folderID: folder.id)
                }
                values.append(StatusValue(.recent, UInt64(count)))
            case .uidNext: values.append(StatusValue(.uidNext, UInt64(folder.uidNext)))
            case .uidValidity: values.append(StatusValue(.uidValidity, UInt64(folder.uidValidity)))
            case .unseen: values.append(StatusValue(.unseen, UInt64(folder.unseenCount)))
            case .highestModSeq:
                // The selected mailbox's is what the session has told, which lags while expunges wait
                // (RFC 7162 3.2: never a modseq beyond changes the client has not seen).
                let modseq = selected.flatMap { $0.folder.id == folder.id ? $0.knownModseq : nil } ?? folder.highestModseq
                values.append(StatusValue(.highestModSeq, UInt64(max(modseq, 0))))
            case .appendLimit: values.append(StatusValue(.appendLimit, UInt64(context.limits.maxAppendLiteralSize)))
            case .deleted: values.append(StatusValue(.deleted, UInt64(folder.deletedCount)))
            case .size: values.append(StatusValue(.size, UInt64(folder.sizeBytes)))
            case .mailboxID: values.append(StatusValue(mailboxID: folder.id))
            }
        }
        return values
    }

    func select(_ grant: Grant, _ mailbox: MailboxName, _ parameters: [SelectParameter], readOnly: Bool, tag: String) async throws -> [Response] {
        // A failed SELECT leaves no mailbox selected (RFC 9051 6.3.2), a refused one too; a
        // successful one first closes the previous.
        let requestedName = mailbox
        var responses: [Response] = []
        let previous = selected
        if selected != nil {
            selected = nil
            responses.append(.untagged(.ok(ResponseText(code: .closed, text: "Previous mailbox closed"))))
        }
        var resynchronization: QResyncParameter?
        for parameter in parameters {
            switch parameter {
            case .condStore:
                condstore = true
            case .qResync(let known):
                guard qresync else {
                    return responses + [IMAPCommandError(.bad, "QRESYNC must be enabled first (ENABLE QRESYNC)").response(tag: tag)]
                }
                resynchronization = known
            case .other(let name):
                return responses + [IMAPCommandError(.bad, "Unknown SELECT parameter \(name)").response(tag: tag)]
            }
        }
        let name: String
        do {
            name = try folderName(mailbox)
        } catch {
            return responses + [error.response(tag: tag)]
        }
        var mailbox: SelectedMailbox
        var snapshot: MailboxSnapshot?
        do {
            // EXAMINE under IMAP4rev1 shows as recent what no session claimed, which only a read of
            // the folder tells: it reads the whole mailbox.
            if resynchronization == nil, let previous, previous.folder.name == name, previous.readOnly == readOnly,
               !readOnly || imap4rev2, let reopened = try await reopen(grant, previous) {
                mailbox = reopened
            } else {
                guard let found = try await context.store.snapshot(grant: grant.id, name: name) else {
                    // The previous mailbox is closed whether or not this one exists: the client hears of both.
                    return responses + [IMAPCommandError(.no, code: .nonExistent, "No such mailbox").response(tag: tag)]
                }
                snapshot = found
                mailbox = SelectedMailbox(snapshot: found, readOnly: readOnly)
                // IMAP4rev2 has no \Recent: such a session leaves new messages to IMAP4rev1 sessions.
                if !imap4rev2, mailbox.largestUID >= found.folder.firstRecentUID {
                    try await takeRecent(grant, &mailbox, after: found.folder.firstRecentUID - 1,
                                         firstUnclaimed: found.folder.firstRecentUID)
                }
            }
        } catch let error as IMAPCommandError {
            return responses + [error.response(tag: tag)]
        } catch let error as MailStoreError {
            return responses + [IMAPCommandError(error).response(tag: tag)]
        }
        selected = mailbox
        responses += mailbox.flagsResponses + [.untagged(.exists(mailbox.count))]
        if !imap4rev2 { responses.append(.untagged(.recent(UInt32(mailbox.recentCount)))) }
        responses += [
            .untagged(.ok(ResponseText(code: .uidValidity(UInt32(truncatingIfNeeded: mailbox.folder.uidValidity)), text: "UIDs valid"))),
            .untagged(.ok(ResponseText(code: .uidNext(UInt32(truncatingIfNeeded: mailbox.folder.uidNext)), text: "Predicted next UID"))),
            // Every mailbox keeps modseqs, so every SELECT says the highest (RFC 7162 3.1.2.1).
            Self.highestModseq(mailbox.knownModseq),
            .untagged(.ok(ResponseText(code: .mailboxID(mailbox.folder.id), text: "Mailbox id"))),
        ]
        if imap4rev2 {
            // RFC 9051 6.3.2: SELECT answers with the mailbox's LIST response; the UNSEEN code is gone.
            responses.append(.untagged(.list(MailboxListEntry(attributes: [], delimiter: MailFolder.hierarchyDelimiter, name: requestedName))))
        } else if let firstUnseen = mailbox.firstUnseenSequenceNumber {
            responses.append(.untagged(.ok(ResponseText(code: .unseen(firstUnseen), text: "First unseen"))))
        }
        if let resynchronization, let snapshot {
            responses += try await quickResynchronization(grant, resynchronization, mailbox: mailbox, messages: snapshot.messages)
        }
        responses.append(.tagged(TaggedResponse(tag: tag, state: .ok, code: readOnly ? .readOnly : .readWrite,
                                                "\(readOnly ? "EXAMINE" : "SELECT") completed")))
        return responses
    }

    /// The mailbox a session had selected, brought up to date from the change log, as a new SELECT
    /// of it would find it: a client that selects its mailbox again (many do, to refresh) costs an
    /// index range read of what changed instead of a read of every message. Nil when only a whole
    /// read will do: the folder is gone or renamed, its UIDs were renewed, or expunges the session
    /// did not hear of may have been forgotten.
    ///
    /// Nothing is claimed before the folder is known to be the same: an IMAP4rev1 session claims the
    /// new messages' `\Recent` afterwards, as it does for any change it learns of (the messages it
    /// knew it claimed already). Only read-write mailboxes and IMAP4rev2 sessions come here.
    func reopen(_ grant: Grant, _ previous: SelectedMailbox) async throws -> SelectedMailbox? {
        let changes: FolderChanges
        do {
            changes = try await context.store.changes(grant: grant.id, folderID: previous.folder.id, since: previous.knownModseq,
                                                      claimingRecent: false)
        } catch MailStoreError.noSuchFolder {
            return nil
        }
        guard changes.folderName == previous.folder.name, changes.uidValidity == previous.folder.uidValidity,
              changes.vanishedHorizon <= previous.knownModseq else { return nil }
        var mailbox = previous
        mailbox.reopen(applying: changes)
        if !imap4rev2, mailbox.largestUID > previous.largestUID {
            try await takeRecent(grant, &mailbox, after: previous.largestUID)
        }
        return mailbox
    }

    /// The special-use attributes a custom mailbox may be created with (RFC 6154 CREATE-SPECIAL-USE):
    /// the ones that label a folder of mail. `\All` and `\Flagged` describe mailboxes whose content
    /// the server would have to gather, which it does not keep.
    static let creatableUses = ["\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"]

    /// A folder's RFC 6154 attribute as IMAP shows it (INBOX has none).
    static func useAttribute(of folder: MailFolder) -> String? {
        guard folder.systemFolder != .inbox else { return nil }
        return folder.specialUse
    }

    /// Returns the new mailbox's id (RFC 8474 MAILBOXID).
    func create(_ grant: Grant, _ mailbox: MailboxName, _ parameters: [CreateParameter] = []) async throws -> String {
        var specialUse: String?
        for parameter in parameters {
            switch parameter {
            case .other(let name):
                throw IMAPCommandError(.bad, "Unknown CREATE parameter \(name)")
            case .use(let attributes):
                // RFC 6154 3: a use the server cannot give is NO [USEATTR], and nothing is created.
                let wanted = attributes.map(\.wire)
                guard wanted.count <= 1, specialUse == nil || wanted.isEmpty else {
                    throw IMAPCommandError(.no, code: .useAttr, "A mailbox takes one special use")
                }
                if let use = wanted.first {
                    guard let known = Self.creatableUses.first(where: { $0.lowercased() == use.lowercased() }) else {
                        throw IMAPCommandError(.no, code: .useAttr, "\(use) is not a use a mailbox can be created with")
                    }
                    specialUse = known
                }
            }
        }
        var name = try folderName(mailbox, creating: true)
        // RFC 9051 6.3.4: a trailing delimiter only says the client means to create children.
        while name.hasSuffix("/") { name.removeLast() }
        guard name.uppercased() != "INBOX" else { throw IMAPCommandError(.no, code: .alreadyExists, "INBOX already exists") }
        do {
            return try await context.store.createFolder(grant: grant.id, name: name, specialUse: specialUse).id
        } catch let error as MailStoreError {
            throw IMAPCommandError(error)
        }
    }

    func delete(_ grant: Grant, _ mailbox: MailboxName) async throws {
        let folder = try await lookUpFolder(grant, mailbox)
        do {
            try await context.store.deleteFolder(grant: grant.id, id: folder.id)
        } catch let error as MailStoreError {
            throw IMAPCommandError(error)
        }
        if selected?.folder.id == folder.id { selected = nil }
    }

    func rename(_ grant: Grant, from: MailboxName, to: MailboxName) async throws {
        let folder = try await lookUpFolder(grant, from)
        let newName = try folderName(to, creating: true)
        if folder.systemFolder == .inbox {
            try await renameInbox(grant, folder, to: newName)
            return
        }
        do {
            _ = try await context.store.renameFolder(grant: grant.id, id: folder.id, to: newName)
        } catch let error as MailStoreError {
            throw IMAPCommandError(error)
        }
    }

    /// RFC 3501 6.3.5: renaming INBOX moves all its messages into a new mailbox of that name and
    /// leaves INBOX, empty, where it is; mailboxes below INBOX stay. Messages that arrive meanwhile
    /// stay in INBOX.
    private func renameInbox(_ grant: Grant, _ inbox: MailFolder, to newName: String) async throws {
        let target: MailFolder
        do {
            target = try await context.store.createFolder(grant: grant.id, name: newName)
        } catch let error as MailStoreError {
            throw IMAPCommandError(error)
        }
        _ = try await context.store.move(grant: grant.id, from: inbox.id, uids: .all, to: target.id)
    }

    func quotaResponses(_ grant: Grant) async throws -> Response {
        let usage = try await context.store.quota(grant: grant.id)
        // RFC 9208: STORAGE is counted in units of 1024 octets.
        return .untagged(.quota(root: "", [
            QuotaResource(name: "STORAGE", usage: UInt64((usage.usedBytes + 1023) / 1024), limit: UInt64(usage.limitBytes / 1024)),
        ]))
    }
}

/// A LIST pattern: `*` matches anything, `%` anything but the hierarchy delimiter (RFC 9051 6.3.9).
/// Matched in time proportional to pattern length times name length, whatever the wildcards.
struct MailboxPattern {
    let pattern: [Character]
    /// The pattern with a leading `inbox` in any case written `INBOX`, tried on names under INBOX.
    let inboxPattern: [Character]
    /// The pattern has 8-bit characters, so it is matched against UTF-8 names rather than modified UTF-7.
    let isUTF8: Bool

    init(_ pattern: String) {
        self.pattern = Array(pattern)
        inboxPattern = Self.foldingInbox(self.pattern)
        isUTF8 = pattern.utf8.contains { $0 >= 0x80 }
    }

    /// INBOX is case-insensitive wherever it appears as the first level.
    private static func foldingInbox(_ text: [Character]) -> [Character] {
        guard text.count >= 5, String(text.prefix(5)).uppercased() == "INBOX" else { return text }
        return Array("INBOX") + text.dropFirst(5)
    }

    /// INBOX matches `inbox` in any case, as its first level; other names match exactly (`inboxes`
    /// is not INBOX).
    func matches(_ name: String) -> Bool {
        let target = Array(name)
        if Self.match(pattern, target) { return true }
        let underInbox = target.count >= 5 && String(target.prefix(5)) == "INBOX" && (target.count == 5 || target[5] == "/")
        return underInbox && inboxPattern != pattern && Self.match(inboxPattern, target)
    }

    private static func match(_ pattern: [Character], _ target: [Character]) -> Bool {
        // matched[j]: the pattern read so far matches the first j characters of the name.
        var matched = [Bool](repeating: false, count: target.count + 1)
        matched[0] = true
        for token in pattern {
            var next = [Bool](repeating: false, count: target.count + 1)
            switch token {
            case "*":
                var reachable = false
                for j in 0...target.count {
                    reachable = reachable || matched[j]
                    next[j] = reachable
                }
            case "%":
                var reachable = false
                for j in 0...target.count {
                    if j > 0, target[j - 1] == MailFolder.hierarchyDelimiter { reachable = false }
                    reachable = reachable || matched[j]
                    next[j] = reachable
                }
            default:
                for j in 1..<(target.count + 1) where matched[j - 1] && target[j - 1] == token {
                    next[j] = true
                }
            }
            matched = next
        }
        return matched[target.count]
    }
}

/// A command that fails with a tagged NO or BAD and a response code.
struct IMAPCommandError: Error {
    let state: ResponseState
    let code: ResponseCode?
    let text: String

    init(_ state: ResponseState, code: ResponseCode? = nil, _ text: String) {
        self.state = state
        self.code = code
        self.text = text
    }

    init(_ error: MailStoreError) {
        switch error {
        case .noSuchFolder: self.init(.no, code: .nonExistent, "No such mailbox")
        case .folderExists: self.init(.no, code: .alreadyExists, "Mailbox already exists")
        case .invalidFolderName(let why): self.init(.no, code: .cannot, "Invalid mailbox name: \(why)")
        case .cannotModifySystemFolder: self.init(.no, code: .cannot, "System mailboxes cannot be deleted or renamed")
        case .overQuota(let limit): self.init(.no, code: .overQuota, "Quota exceeded (limit \(limit) bytes)")
        case .noSuchMessage: self.init(.no, code: .nonExistent, "No such message")
        case .noSuchGrant: self.init(.no, code: .unavailable, "This account no longer exists")
        case .invalidCursor: self.init(.bad, "Invalid cursor")
        // Submissions only: IMAP submits nothing.
        case .credentialsChanged: self.init(.no, code: .authenticationFailed, "Credentials changed; log in again")
        case .rulesChanged: self.init(.no, code: .unavailable, "The rules changed meanwhile; try again")
        }
    }

    /// An error no command expects: `[UNAVAILABLE]` when the store cannot be reached (the client
    /// should retry later), otherwise `[SERVERBUG]`.
    static func unexpected(_ error: any Error) -> IMAPCommandError {
        if PostgresErrors.isUnavailable(error) {
            return IMAPCommandError(.no, code: .unavailable, "The mailbox store is unavailable; try again later")
        }
        return IMAPCommandError(.no, code: .serverBug, "Server error; try again")
    }

    func response(tag: String) -> Response {
        .tagged(TaggedResponse(tag: tag, state: state, code: code, text))
    }
}
