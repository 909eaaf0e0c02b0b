import IMAPGrammar
import Testing

@testable import IMAPServer

/// NOTIFY SET checked as RFC 5465 sections 3.1, 5 and 6 require.
struct NotifySettingsTests {
    typealias G = NotifyEventGroup

    func settings(_ groups: [G]) throws(NotifySettings.Refusal) -> NotifySettings {
        try NotifySettings(groups) { $0.wire == "Bad&Name" ? nil : $0.wire }
    }

    static let refused: [([G], NotifySettings.Refusal)] = [
        ([G(.personal, events: [.messageNew([])])], .bad("MessageNew and MessageExpunge go together")),
        ([G(.personal, events: [.messageExpunge])], .bad("MessageNew and MessageExpunge go together")),
        ([G(.inboxes, events: [.flagChange])], .bad("FlagChange needs MessageNew and MessageExpunge")),
        ([G(.selected, events: [.messageNew([]), .messageExpunge]), G(.selectedDelayed, events: [])],
         .bad("SELECTED and SELECTED-DELAYED may be named once")),
        ([G(.selected, events: [.mailboxName])], .bad("SELECTED takes message events only")),
        ([G(.personal, events: [.messageNew([.uid]), .messageExpunge])], .bad("MessageNew takes FETCH attributes for the selected mailbox only")),
        ([G(.personal, events: [.subscriptionChange])], .unsupported),
        ([G(.personal, events: [.other("X-Weather")])], .unsupported),
        ([G(.selected, events: [.messageNew([]), .messageExpunge, .other("X-Foo")])], .unsupported),
        ([G(.selected, events: [.messageNew([]), .messageExpunge, .annotationChange])], .unsupported),
    ]

    @Test("refusals", arguments: refused)
    func refusal(_ groups: [G], _ expected: NotifySettings.Refusal) {
        #expect(throws: expected) { _ = try settings(groups) }
    }

    @Test func selectedEvents() throws {
        let set = try settings([G(.selectedDelayed, events: [.messageNew([.flags]), .messageExpunge, .flagChange])])
        #expect(set.selected == .init(delayed: true, flagChanges: true, fetchAttributes: [.flags]))
        #expect(set.groups.isEmpty)
        #expect(try settings([G(.selected, events: [])]).selected == nil)
        #expect(try settings([G(.personal, events: [.mailboxName])]).selected == nil)
    }

    @Test("filters match names; a name that names no mailbox is left out; events of several groups add up")
    func filters() throws {
        let set = try settings([
            G(.inboxes, events: [.messageNew([]), .messageExpunge]),
            G(.subtree([MailboxName(wire: "Lists")]), events: [.messageNew([]), .messageExpunge, .flagChange]),
            G(.mailboxes([MailboxName(wire: "Bad&Name"), MailboxName(wire: "Work")]), events: [.mailboxName]),
            G(.subscribed, events: [.mailboxName]),
        ])
        let none = Set<String>()
        #expect(set.watch("INBOX", isInbox: true, subscriptions: none)! == (true, false, false))
        #expect(set.watch("Lists/swift", isInbox: false, subscriptions: none)! == (true, true, false))
        #expect(set.watch("Lists", isInbox: false, subscriptions: none)! == (true, true, false))
        #expect(set.watch("Listsx", isInbox: false, subscriptions: none) == nil)
        #expect(set.watch("Work", isInbox: false, subscriptions: none)! == (false, false, true))
        #expect(set.watch("Other", isInbox: false, subscriptions: ["Other"])! == (false, false, true))
        #expect(set.watch("Other", isInbox: false, subscriptions: none) == nil)
        #expect(set.readsSubscriptions)
    }
}
