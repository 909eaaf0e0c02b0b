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
            settings = try NotifySettings(groups) { [self] mailbox in try? folderName(mailbox) }
        } catch .bad(let why) {
            throw IMAPCommandError(.bad, why)
        } catch .unsupported {
            throw IMAPCommandError(.no, code: .badEvent(NotifySettings.supportedEvents), "Unsupported event")
        }
        notify = settings
        let folders = try await context.store.folders(grant: grant.id)
        notifyBaseline = Dictionary(folders.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var responses: [Response] = []
        // 3.1: with STATUS, the state of every other mailbox watched for its messages, before the OK.
        if status {
            let subscriptions = try await subscriptionSet(grant, settings)
            for folder in folders where folder.id != selected?.folder.id {
                guard let watch = settings.watch(folder.name, isInbox: folder.systemFolder == .inbox, subscriptions: subscriptions),
                      watch.messages || watch.flags else { continue }
                responses.append(statusNotification(folder, items: [.messages, .uidNext, .uidValidity, .unseen]))
            }
        }
        // 3.1: a NOTIFY SET is a NOOP too: what changed in the selected mailbox goes out now.
        return ok(responses + (try await notifiedSelectedUpdates(grant, force: true, expungesAllowed: true)))
    }

    /// What NOTIFY asked to be told since last time, for a push (between commands or in IDLE).
    func notifyUpdates(_ grant: Grant, force: Bool) async throws -> [Response] {
        let own = try await notifiedSelectedUpdates(grant, force: force, expungesAllowed: isIdling)
        return own + (try await otherMailboxUpdates(grant))
    }

    /// The selected mailbox's changes as SELECTED or SELECTED-DELAYED asked: flag changes only when
    /// FlagChange was named, expunges held under SELECTED-DELAYED until a command may report them
    /// (IDLE, NOOP and the others that may), and the FETCH items MessageNew named for new messages.
    func notifiedSelectedUpdates(_ grant: Grant, force: Bool, expungesAllowed: Bool) async throws -> [Response] {
        guard let events = notify?.selected, let before = selected else { return [] }
        var updates = try await synchronize(grant, force: force, allowExpunges: !events.delayed || expungesAllowed)
        if !events.flagChanges {
            updates.removeAll { if case .untagged(.fetch) = $0 { true } else { false } }
        }
        if !events.fetchAttributes.isEmpty, let after = selected, after.largestUID > before.largestUID {
            let fresh = FetchCommand(sequenceSet: .ranges([SequenceRange(.number(UInt32(truncatingIfNeeded: before.largestUID + 1)), .last)]),
                                     attributes: [.uid] + events.fetchAttributes.filter { $0 != .uid })
            updates += try await fetch(grant, fresh, byUID: true)
        }
        return updates
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

    /// The session's own CREATE, DELETE and RENAME are not told back to it (RFC 5465 5).
    func forgetOwnMailboxChanges(_ grant: Grant) async throws {
        guard let notify, notify.groups.contains(where: \.mailboxNames) else { return }
        let folders = try await context.store.folders(grant: grant.id)
        notifyBaseline = Dictionary(folders.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
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
