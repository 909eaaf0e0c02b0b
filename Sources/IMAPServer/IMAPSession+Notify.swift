import IMAPGrammar
import MailCore

/// NOTIFY (RFC 5465): changes told as they happen, between commands as in IDLE, for the selected
/// mailbox (as SELECTED or SELECTED-DELAYED asked) and for other mailboxes (STATUS for their
/// messages, LIST for their names), driven by the same change announcements as IDLE.
extension IMAPSession {
    func notify(_ grant: Grant, _ command: NotifyCommand, tag: String) async throws -> [Response] {
        func ok(_ responses: [Response]) -> [Response] {
            responses + [.tagged(TaggedResponse(tag: tag, state: .ok, "NOTIFY completed"))]
        }
        guard case .set(let status, let groups) = command else {
            notify = NotifySettings.none
            notifyBaseline = [:]
            return ok([])
        }
        let settings: NotifySettings
        do {
            // Names as the store keeps them (`inbox/Sub` is `INBOX/Sub`); one that names no mailbox is left out.
            settings = try NotifySettings(groups) { [self] mailbox in (try? folderName(mailbox)).flatMap { try? FolderName.validate($0) } }
        } catch .bad(let why) {
            throw IMAPCommandError(.bad, why)
        } catch .unsupported {
            throw IMAPCommandError(.no, code: .badEvent(NotifySettings.supportedEvents), "Unsupported event")
        }
        // Everything that may fail is read before the new setting takes over.
        let folders = try await context.store.folders(grant: grant.id)
        let subscriptions = try await subscriptionSet(grant, settings)
        notify = settings
        notifyBaseline = Dictionary(folders.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var responses: [Response] = []
        // 3.1: with STATUS, the state of every other mailbox watched for its messages, before the OK.
        if status {
            for folder in folders where folder.id != selected?.folder.id {
                guard let watch = settings.watch(folder.name, isInbox: folder.systemFolder == .inbox, subscriptions: subscriptions),
                      watch.messages || watch.flags else { continue }
                responses.append(statusNotification(folder, items: [.messages, .uidNext, .uidValidity, .unseen]))
            }
        }
        // 3.1: a NOTIFY SET is a NOOP too: what changed in the selected mailbox goes out now. The
        // setting is in force: a failed read only leaves the changes for later.
        return ok(responses + ((try? await notifiedSelectedUpdates(grant, force: true, expungesAllowed: true)) ?? []))
    }

    /// The selected mailbox's changes at a point that tells them (the end of a command, NOOP,
    /// CHECK, before FETCH, STORE, SEARCH): as before NOTIFY, or as NOTIFY asked once it did.
    /// RFC 5465 3.1: after a NOTIFY without SELECTED nothing is told of the selected mailbox; its
    /// changes stay in the log and the session's view where it was.
    func tellSelectedChanges(_ grant: Grant, force: Bool = false, allowExpunges: Bool = true) async throws -> [Response] {
        guard notify != nil else { return try await synchronize(grant, force: force, allowExpunges: allowExpunges) }
        return try await notifiedSelectedUpdates(grant, force: force, expungesAllowed: allowExpunges)
    }

    /// What NOTIFY asked to be told since last time, for a push (between commands or in IDLE).
    func notifyUpdates(_ grant: Grant, force: Bool) async throws -> [Response] {
        // SELECTED tells expunges at once; SELECTED-DELAYED only in IDLE (6.1.2).
        let delayed = notify?.selected?.delayed ?? false
        let own = try await notifiedSelectedUpdates(grant, force: force, expungesAllowed: isIdling || !delayed)
        // The selected mailbox's view has moved on: what follows may not undo telling it.
        return own + ((try? await otherMailboxUpdates(grant)) ?? [])
    }

    /// The selected mailbox's changes as SELECTED or SELECTED-DELAYED asked: flag changes only when
    /// FlagChange was named, expunges held under SELECTED-DELAYED until a command may report them
    /// (IDLE, NOOP and the others that may), and the FETCH items MessageNew named for new messages.
    func notifiedSelectedUpdates(_ grant: Grant, force: Bool, expungesAllowed: Bool) async throws -> [Response] {
        guard let events = notify?.selected, let before = selected else { return [] }
        var updates = try await synchronize(grant, force: force, allowExpunges: expungesAllowed)
        if !events.flagChanges {
            updates.removeAll { if case .untagged(.fetch) = $0 { true } else { false } }
        }
        if !events.fetchAttributes.isEmpty, let after = selected, after.largestUID > before.largestUID {
            let fresh = FetchCommand(sequenceSet: .ranges([SequenceRange(.number(UInt32(truncatingIfNeeded: before.largestUID + 1)), .last)]),
                                     attributes: [.uid] + events.fetchAttributes.filter { $0 != .uid }.map(Self.peeking))
            // The new messages are told already: an item that cannot be fetched leaves the FETCH out.
            do {
                updates += try await fetch(grant, fresh, byUID: true)
            } catch {
                logger.debug("NOTIFY MessageNew items not fetched", metadata: ["error": "\(error)"])
            }
        }
        return updates
    }

    /// MessageNew's items never set \Seen: a notification is not a reading.
    static func peeking(_ attribute: FetchAttribute) -> FetchAttribute {
        switch attribute {
        case .body(let section, let partial, _): .body(section: section, partial: partial, peek: true)
        case .binary(let section, let partial, _): .binary(section: section, partial: partial, peek: true)
        case .rfc822: .body(section: .complete, partial: nil, peek: true)
        case .rfc822Text: .body(section: SectionSpecifier(kind: .text), partial: nil, peek: true)
        default: attribute
        }
    }

    /// STATUS for other watched mailboxes whose messages changed, LIST for watched names that came,
    /// went or changed, measured against what was last told.
    func otherMailboxUpdates(_ grant: Grant) async throws -> [Response] {
        guard let notify, !notify.groups.isEmpty else { return [] }
        let folders = try await context.store.folders(grant: grant.id)
        let subscriptions = try await subscriptionSet(grant, notify)
        let current = Dictionary(folders.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        defer { notifyBaseline = current }
        func watch(_ folder: MailFolder) -> (messages: Bool, flags: Bool, names: Bool)? {
            notify.watch(folder.name, isInbox: folder.systemFolder == .inbox, subscriptions: subscriptions)
        }
        var responses: [Response] = []
        // 5.4: a mailbox gone is listed \NonExistent under the name it had.
        for (id, old) in notifyBaseline where current[id] == nil && watch(old)?.names == true {
            responses.append(.untagged(.list(MailboxListEntry(attributes: [.nonExistent], delimiter: MailFolder.hierarchyDelimiter,
                                                             name: wireName(old.name)))))
        }
        for folder in folders {
            guard let old = notifyBaseline[folder.id] else {
                if watch(folder)?.names == true { responses.append(listNotification(folder, oldName: nil)) }
                continue
            }
            if old.name != folder.name {
                if watch(folder)?.names == true || watch(old)?.names == true { responses.append(listNotification(folder, oldName: old.name)) }
                continue
            }
            guard folder.id != selected?.folder.id, let watched = watch(folder) else { continue }
            let messagesChanged = old.totalCount != folder.totalCount || old.uidNext != folder.uidNext
            let flagsChanged = old.unseenCount != folder.unseenCount || old.highestModseq != folder.highestModseq
            if watched.messages, messagesChanged || old.uidValidity != folder.uidValidity {
                responses.append(statusNotification(folder, items: [.messages, .uidNext, .unseen]
                                                     + (old.uidValidity != folder.uidValidity ? [.uidValidity] : [])))
            } else if watched.flags, flagsChanged {
                // 5.1: with CONDSTORE at least UIDVALIDITY and HIGHESTMODSEQ; UNSEEN as other servers send.
                responses.append(statusNotification(folder, items: [.uidValidity, .unseen]))
            }
        }
        return responses
    }

    /// The session's own CREATE, DELETE and RENAME are not told back to it (RFC 5465 5): the
    /// baseline takes the names as they are now, and keeps the counts it had, so that message
    /// changes still waiting to be told are not lost.
    func forgetOwnMailboxChanges(_ grant: Grant) async {
        guard let notify, notify.groups.contains(where: \.mailboxNames),
              let folders = try? await context.store.folders(grant: grant.id) else { return }
        let current = Set(folders.map(\.id))
        for id in notifyBaseline.keys where !current.contains(id) { notifyBaseline[id] = nil }
        for folder in folders {
            if notifyBaseline[folder.id] == nil { notifyBaseline[folder.id] = folder } else { notifyBaseline[folder.id]?.name = folder.name }
        }
    }

    private func subscriptionSet(_ grant: Grant, _ settings: NotifySettings) async throws -> Set<String> {
        settings.readsSubscriptions ? Set(try await context.store.subscriptions(grant: grant.id)) : []
    }

    private func wireName(_ name: String) -> MailboxName {
        imap4rev2 ? MailboxName(wire: name) : MailboxName(decoded: name)
    }

    /// An unsolicited STATUS; HIGHESTMODSEQ joins it once CONDSTORE is on (RFC 5465 5.1, 5.2).
    private func statusNotification(_ folder: MailFolder, items: [StatusAttribute]) -> Response {
        var values: [StatusValue] = []
        for item in items {
            switch item {
            case .messages: values.append(StatusValue(.messages, UInt64(folder.totalCount)))
            case .uidNext: values.append(StatusValue(.uidNext, UInt64(folder.uidNext)))
            case .uidValidity: values.append(StatusValue(.uidValidity, UInt64(folder.uidValidity)))
            case .unseen: values.append(StatusValue(.unseen, UInt64(folder.unseenCount)))
            default: break
            }
        }
        if condstore { values.append(StatusValue(.highestModSeq, UInt64(max(folder.highestModseq, 0)))) }
        return .untagged(.status(wireName(folder.name), values))
    }

    /// An unsolicited LIST for a mailbox that came or was renamed (RFC 5465 5.4).
    private func listNotification(_ folder: MailFolder, oldName: String?) -> Response {
        var attributes = [MailboxAttribute]()
        if let use = Self.useAttribute(of: folder) { attributes.append(MailboxAttribute(wire: use)) }
        return .untagged(.list(MailboxListEntry(attributes: attributes, delimiter: MailFolder.hierarchyDelimiter,
                                                name: wireName(folder.name), oldName: oldName.map(wireName))))
    }
}
