import IMAPGrammar
import MailCore

/// What a NOTIFY SET asked for (RFC 5465), checked and with mailbox names resolved: which events of
/// the selected mailbox to push, and which other mailboxes to watch for what.
///
/// Supported events: MessageNew (with FETCH attributes for the selected mailbox), MessageExpunge,
/// FlagChange and MailboxName. Asking for another is `NO [BADEVENT (...)]` naming these (3.1).
struct NotifySettings: Sendable, Equatable {
    /// The events this server can tell, as BADEVENT lists them.
    static let supportedEvents = ["MessageNew", "MessageExpunge", "FlagChange", "MailboxName"]

    struct SelectedEvents: Sendable, Equatable {
        /// SELECTED-DELAYED: expunges wait for a command that may report them (6.1.2).
        var delayed: Bool
        var flagChanges: Bool
        /// What MessageNew asks to be fetched of each new message.
        var fetchAttributes: [FetchAttribute]
    }

    /// Mailboxes other than the selected one, by resolved (decoded) name.
    enum Filter: Sendable, Equatable {
        case inboxes, personal, subscribed
        case subtree([String])
        case mailboxes([String])

        func matches(_ name: String, isInbox: Bool, subscriptions: Set<String>) -> Bool {
            switch self {
            case .inboxes: isInbox
            case .personal: true
            case .subscribed: subscriptions.contains(name)
            case .subtree(let roots): roots.contains { name == $0 || name.hasPrefix($0 + "/") }
            case .mailboxes(let names): names.contains(name)
            }
        }
    }

    struct Group: Sendable, Equatable {
        var filter: Filter
        var messageEvents: Bool
        var flagChanges: Bool
        var mailboxNames: Bool
    }

    enum Refusal: Error, Equatable {
        case bad(String)
        /// An event this server does not tell.
        case unsupported
    }

    /// nil: the client wants no message events for the selected mailbox (no SELECTED group, or
    /// SELECTED NONE, or NOTIFY NONE), so nothing about it is told, not even after commands.
    var selected: SelectedEvents?
    var groups: [Group]

    /// NOTIFY NONE: no events at all.
    static let none = NotifySettings(selected: nil, groups: [])

    init(selected: SelectedEvents?, groups: [Group]) {
        self.selected = selected
        self.groups = groups
    }

    /// The groups of a NOTIFY SET, names already resolved (`resolve` gives nil for a name that
    /// cannot name a mailbox, which is then left out, as 3.1 asks).
    init(_ eventGroups: [NotifyEventGroup], resolve: (MailboxName) -> String?) throws(Refusal) {
        var selected: SelectedEvents?
        var sawSelected = false
        var groups: [Group] = []
        for group in eventGroups {
            let events = group.events
            let names = Set(events.map { $0.name.lowercased() })
            // Section 5: MessageNew and MessageExpunge go together; FlagChange needs both.
            if names.contains("messagenew") != names.contains("messageexpunge") {
                throw .bad("MessageNew and MessageExpunge go together")
            }
            if (names.contains("flagchange") || names.contains("annotationchange")) && !names.contains("messagenew") {
                throw .bad("FlagChange needs MessageNew and MessageExpunge")
            }
            for event in events {
                if case .messageNew(let attributes) = event, !attributes.isEmpty, !group.mailboxes.isSelected {
                    throw .bad("MessageNew takes FETCH attributes for the selected mailbox only")
                }
            }
            // 3.1: an event not told here is NO [BADEVENT], whatever group names it.
            guard events.allSatisfy({ Self.supportedEvents.contains($0.name) && !Self.isOther($0) }) else { throw .unsupported }
            if group.mailboxes.isSelected {
                guard !sawSelected else { throw .bad("SELECTED and SELECTED-DELAYED may be named once") }
                sawSelected = true
                guard events.allSatisfy(\.isMessageEvent) else { throw .bad("SELECTED takes message events only") }
            }
            let fetchAttributes = events.compactMap { event -> [FetchAttribute]? in
                if case .messageNew(let attributes) = event { return attributes }
                return nil
            }.first ?? []
            let messages = names.contains("messagenew")
            let flags = names.contains("flagchange")
            switch group.mailboxes {
            case .selected, .selectedDelayed:
                if messages {
                    selected = SelectedEvents(delayed: group.mailboxes == .selectedDelayed, flagChanges: flags, fetchAttributes: fetchAttributes)
                }
            case .inboxes, .personal, .subscribed, .subtree, .mailboxes:
                let filter: Filter = switch group.mailboxes {
                case .inboxes: .inboxes
                case .personal: .personal
                case .subscribed: .subscribed
                case .subtree(let roots): .subtree(roots.compactMap(resolve))
                case .mailboxes(let names): .mailboxes(names.compactMap(resolve))
                case .selected, .selectedDelayed: .mailboxes([])
                }
                guard !events.isEmpty else { continue }
                groups.append(Group(filter: filter, messageEvents: messages, flagChanges: flags, mailboxNames: names.contains("mailboxname")))
            }
        }
        self.selected = selected
        self.groups = groups
    }

    private static func isOther(_ event: NotifyEvent) -> Bool {
        if case .other = event { return true }
        return false
    }

    /// What a mailbox other than the selected one is watched for; nil when nothing.
    func watch(_ name: String, isInbox: Bool, subscriptions: Set<String>) -> (messages: Bool, flags: Bool, names: Bool)? {
        var messages = false, flags = false, names = false
        for group in groups where group.filter.matches(name, isInbox: isInbox, subscriptions: subscriptions) {
            messages = messages || group.messageEvents
            flags = flags || group.flagChanges
            names = names || group.mailboxNames
        }
        return messages || flags || names ? (messages, flags, names) : nil
    }

    /// Whether any group needs the subscription list.
    var readsSubscriptions: Bool { groups.contains { $0.filter == .subscribed } }
}
