import IMAPGrammar
import MailCore

/// Mailbox-level commands (RFC 9051 6.3): LIST, STATUS, SELECT, CREATE, DELETE, RENAME, ...
extension IMAPSession {
    /// The folder name a client's mailbox name stands for (modified UTF-7 decoded; INBOX in any case).
    func folderName(_ mailbox: MailboxName) throws(IMAPCommandError) -> String {
        if mailbox.isInbox { return "INBOX" }
        do {
            return try mailbox.decoded()
        } catch {
            throw IMAPCommandError(.bad, "Mailbox name is not valid modified UTF-7")
        }
    }

    func lookUpFolder(_ grant: Grant, _ mailbox: MailboxName) async throws -> MailFolder {
        let name = try folderName(mailbox)
        guard let folder = try await context.store.folder(grant: grant.id, name: name) else {
            throw IMAPCommandError(.no, code: .nonExistent, "No such mailbox")
        }
        return folder
    }

    static func attributes(of folder: MailFolder, hasChildren: Bool) -> [MailboxAttribute] {
        var attributes: [MailboxAttribute] = [hasChildren ? .hasChildren : .hasNoChildren]
        switch folder.systemFolder {
        case .sent: attributes.append(.sent)
        case .drafts: attributes.append(.drafts)
        case .trash: attributes.append(.trash)
        case .junk: attributes.append(.junk)
        case .archive: attributes.append(.archive)
        case .inbox, .none: break
        }
        return attributes
    }

    func list(_ grant: Grant, _ command: ListCommand, lsub: Bool) async throws -> [Response] {
        let reference = try folderName(command.reference)
        if command.patterns.allSatisfy(\.isEmpty) {
            // RFC 9051 6.3.9: an empty pattern asks for the hierarchy delimiter.
            let entry = MailboxListEntry(attributes: [.noSelect], delimiter: MailFolder.hierarchyDelimiter, name: MailboxName(wire: ""))
            return [.untagged(lsub ? .lsub(entry) : .list(entry))]
        }
        let folders = try await context.store.folders(grant: grant.id)
        let names = Set(folders.map(\.name))
        let specialUseOnly = command.selectionOptions.contains(.specialUse)
        var responses: [Response] = []
        for folder in folders {
            let matches = command.patterns.contains { pattern in
                MailboxPattern(reference + pattern).matches(folder.name)
            }
            guard matches else { continue }
            let hasChildren = names.contains { $0.hasPrefix(folder.name + "/") }
            var attributes = Self.attributes(of: folder, hasChildren: hasChildren)
            if specialUseOnly && !attributes.contains(where: \.isSpecialUse) { continue }
            if command.selectionOptions.contains(.subscribed) || command.returnOptions.contains(.subscribed) {
                attributes.append(.subscribed)
            }
            let entry = MailboxListEntry(attributes: attributes, delimiter: MailFolder.hierarchyDelimiter, name: MailboxName(decoded: folder.name))
            responses.append(.untagged(lsub ? .lsub(entry) : .list(entry)))
        }
        return responses
    }

    func status(_ grant: Grant, _ mailbox: MailboxName, _ attributes: [StatusAttribute]) async throws -> [Response] {
        let folder = try await lookUpFolder(grant, mailbox)
        var values: [StatusValue] = []
        for attribute in attributes {
            switch attribute {
            case .messages: values.append(StatusValue(.messages, UInt64(folder.totalCount)))
            case .recent: values.append(StatusValue(.recent, 0))
            case .uidNext: values.append(StatusValue(.uidNext, UInt64(folder.uidNext)))
            case .uidValidity: values.append(StatusValue(.uidValidity, UInt64(folder.uidValidity)))
            case .unseen: values.append(StatusValue(.unseen, UInt64(folder.unseenCount)))
            case .highestModSeq: values.append(StatusValue(.highestModSeq, UInt64(folder.highestModseq)))
            case .appendLimit: values.append(StatusValue(.appendLimit, UInt64(context.limits.maxAppendLiteralSize)))
            case .deleted: values.append(StatusValue(.deleted, UInt64(folder.deletedCount)))
            case .size: values.append(StatusValue(.size, UInt64(folder.sizeBytes)))
            }
        }
        return [.untagged(.status(mailbox, values))]
    }

    func select(_ grant: Grant, _ mailbox: MailboxName, readOnly: Bool, tag: String) async throws -> [Response] {
        // A failed SELECT leaves no mailbox selected (RFC 9051 6.3.2); a successful one first closes the previous.
        var responses: [Response] = []
        if selected != nil {
            selected = nil
            responses.append(.untagged(.ok(ResponseText(code: .closed, text: "Previous mailbox closed"))))
        }
        guard let snapshot = try await context.store.snapshot(grant: grant.id, name: try folderName(mailbox)) else {
            throw IMAPCommandError(.no, code: .nonExistent, "No such mailbox")
        }
        let mailbox = SelectedMailbox(snapshot: snapshot, readOnly: readOnly)
        selected = mailbox
        let systemFlags: [Flag] = MessageFlags.systemFlags.map { Flag(wire: $0) }
        responses += [
            .untagged(.flags(systemFlags)),
            .untagged(.ok(ResponseText(code: .permanentFlags(readOnly ? [] : systemFlags.map { .flag($0) } + [.wildcard]), text: "Flags permitted"))),
            .untagged(.exists(mailbox.count)),
            .untagged(.recent(0)),
            .untagged(.ok(ResponseText(code: .uidValidity(UInt32(truncatingIfNeeded: snapshot.folder.uidValidity)), text: "UIDs valid"))),
            .untagged(.ok(ResponseText(code: .uidNext(UInt32(truncatingIfNeeded: snapshot.folder.uidNext)), text: "Predicted next UID"))),
        ]
        if let firstUnseen = snapshot.messages.firstIndex(where: { !$0.flags.isSeen }) {
            responses.append(.untagged(.ok(ResponseText(code: .unseen(UInt32(firstUnseen + 1)), text: "First unseen"))))
        }
        responses.append(.tagged(TaggedResponse(tag: tag, state: .ok, code: readOnly ? .readOnly : .readWrite,
                                                "\(readOnly ? "EXAMINE" : "SELECT") completed")))
        return responses
    }

    func create(_ grant: Grant, _ mailbox: MailboxName) async throws {
        var name = try folderName(mailbox)
        // RFC 9051 6.3.4: a trailing delimiter only says the client means to create children.
        while name.hasSuffix("/") { name.removeLast() }
        guard name.uppercased() != "INBOX" else { throw IMAPCommandError(.no, code: .alreadyExists, "INBOX already exists") }
        do {
            _ = try await context.store.createFolder(grant: grant.id, name: name)
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
        let newName = try folderName(to)
        do {
            _ = try await context.store.renameFolder(grant: grant.id, id: folder.id, to: newName)
        } catch let error as MailStoreError {
            throw IMAPCommandError(error)
        }
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
struct MailboxPattern {
    let pattern: [Character]

    init(_ pattern: String) {
        self.pattern = Array(pattern)
    }

    func matches(_ name: String) -> Bool {
        let name = Array(name)
        // INBOX is case-insensitive wherever it appears as the first level.
        let folded = name.count >= 5 && String(name.prefix(5)).uppercased() == "INBOX" && (name.count == 5 || name[5] == "/")
        let target = folded ? Array("INBOX") + name.dropFirst(5) : name
        var patternText = pattern
        if patternText.count >= 5, String(patternText.prefix(5)).uppercased() == "INBOX" {
            patternText = Array("INBOX") + patternText.dropFirst(5)
        }
        return Self.match(patternText[...], target[...])
    }

    private static func match(_ pattern: ArraySlice<Character>, _ name: ArraySlice<Character>) -> Bool {
        guard let first = pattern.first else { return name.isEmpty }
        switch first {
        case "*":
            var rest = name
            while true {
                if match(pattern.dropFirst(), rest) { return true }
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
        case "%":
            var rest = name
            while true {
                if match(pattern.dropFirst(), rest) { return true }
                guard let next = rest.first, next != "/" else { return false }
                rest = rest.dropFirst()
            }
        default:
            guard let next = name.first, next == first else { return false }
            return match(pattern.dropFirst(), name.dropFirst())
        }
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
        }
    }

    func response(tag: String) -> Response {
        .tagged(TaggedResponse(tag: tag, state: state, code: code, text))
    }
}
