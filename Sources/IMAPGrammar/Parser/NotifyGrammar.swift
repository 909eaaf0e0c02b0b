/// NOTIFY (RFC 5465 section 8).
extension GrammarCursor {
    mutating func notify() throws(GrammarError) -> Command {
        try space()
        switch keyword() {
        case "NONE":
            return .notify(.none)
        case "SET":
            var status = false
            let save = index
            if take(0x20), keyword() == "STATUS" {
                status = true
            } else {
                index = save
            }
            var groups: [NotifyEventGroup] = []
            while take(0x20) {
                groups.append(try notifyEventGroup())
                guard groups.count <= limits.maxListItems else { throw GrammarError(kind: .tooManyItems, message: "too many event groups") }
            }
            guard !groups.isEmpty else { throw .syntax("NOTIFY SET needs an event group") }
            return .notify(.set(status: status, groups: groups))
        default:
            throw .syntax("NOTIFY takes SET or NONE")
        }
    }

    // event-group = "(" filter-mailboxes SP events ")"
    mutating func notifyEventGroup() throws(GrammarError) -> NotifyEventGroup {
        try expect(0x28, "'('")
        let mailboxes: NotifyEventGroup.Mailboxes
        switch keyword() {
        case "SELECTED": mailboxes = .selected
        case "SELECTED-DELAYED": mailboxes = .selectedDelayed
        case "INBOXES": mailboxes = .inboxes
        case "PERSONAL": mailboxes = .personal
        case "SUBSCRIBED": mailboxes = .subscribed
        case "SUBTREE": try space(); mailboxes = .subtree(try oneOrMoreMailbox())
        case "MAILBOXES": try space(); mailboxes = .mailboxes(try oneOrMoreMailbox())
        case let name: throw .syntax(name.isEmpty ? "expected a mailbox filter" : "unknown mailbox filter \(name)")
        }
        try space()
        var events: [NotifyEvent] = []
        if !take("NONE") {
            events = try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) -> NotifyEvent in
                try c.notifyEvent()
            }
        }
        try expect(0x29, "')'")
        return NotifyEventGroup(mailboxes, events: events)
    }

    // one-or-more-mailbox = mailbox / many-mailboxes
    mutating func oneOrMoreMailbox() throws(GrammarError) -> [MailboxName] {
        guard peek() == 0x28 else { return [try mailbox()] }
        return try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) -> MailboxName in try c.mailbox() }
    }

    mutating func notifyEvent() throws(GrammarError) -> NotifyEvent {
        let name = try atom()
        switch name.uppercased() {
        case "MESSAGENEW":
            // ["(" fetch-att *(SP fetch-att) ")"]
            guard peek() == 0x20, peek(1) == 0x28 else { return .messageNew([]) }
            try space()
            return .messageNew(try parenthesizedList(allowEmpty: false, limit: limits.maxFetchAttributes) {
                (c: inout GrammarCursor) throws(GrammarError) -> FetchAttribute in try c.fetchAttribute()
            })
        case "MESSAGEEXPUNGE": return .messageExpunge
        case "FLAGCHANGE": return .flagChange
        case "ANNOTATIONCHANGE": return .annotationChange
        case "MAILBOXNAME": return .mailboxName
        case "SUBSCRIPTIONCHANGE": return .subscriptionChange
        case "MAILBOXMETADATACHANGE": return .mailboxMetadataChange
        case "SERVERMETADATACHANGE": return .serverMetadataChange
        default: return .other(name)
        }
    }
}
