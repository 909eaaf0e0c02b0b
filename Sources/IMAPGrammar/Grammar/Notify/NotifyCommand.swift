/// The arguments of NOTIFY (RFC 5465 section 8).
///
/// ```
/// notify          = "NOTIFY" SP (notify-set / notify-none)
/// notify-none     = "NONE"
/// notify-set      = "SET" [status-indicator] SP event-groups
/// status-indicator = SP "STATUS"
/// event-groups    = event-group *(SP event-group)
/// event-group     = "(" filter-mailboxes SP events ")"
/// filter-mailboxes = filter-mailboxes-selected / filter-mailboxes-other
/// filter-mailboxes-selected = "selected" / "selected-delayed"
/// filter-mailboxes-other = "inboxes" / "personal" / "subscribed" /
///                          ("subtree" SP one-or-more-mailbox) / ("mailboxes" SP one-or-more-mailbox)
/// one-or-more-mailbox = mailbox / many-mailboxes
/// events          = ("(" event *(SP event) ")") / "NONE"
/// ```
/// `C: A04 NOTIFY SET (selected MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge) (subtree Lists MessageNew)`
public enum NotifyCommand: Hashable, Sendable {
    case none
    /// `status`: send the STATUS of every mailbox the groups name, at once.
    case set(status: Bool, groups: [NotifyEventGroup])
}

/// One `event-group`: which mailboxes, and which of their events.
public struct NotifyEventGroup: Hashable, Sendable {
    public enum Mailboxes: Hashable, Sendable {
        case selected
        case selectedDelayed
        case inboxes
        case personal
        case subscribed
        case subtree([MailboxName])
        case mailboxes([MailboxName])

        /// SELECTED and SELECTED-DELAYED concern the selected mailbox only.
        public var isSelected: Bool { self == .selected || self == .selectedDelayed }
    }

    public var mailboxes: Mailboxes
    /// Empty for `NONE`.
    public var events: [NotifyEvent]

    public init(_ mailboxes: Mailboxes, events: [NotifyEvent]) {
        self.mailboxes = mailboxes
        self.events = events
    }
}

/// An `event` (RFC 5465 section 5, names from RFC 5423), compared without regard to case.
///
/// ```
/// message-event = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) / "MessageExpunge" /
///                 "FlagChange" / "AnnotationChange"
/// mailbox-event = "MailboxName" / "SubscriptionChange" / "MailboxMetadataChange" / "ServerMetadataChange"
/// event-ext     = atom
/// ```
public enum NotifyEvent: Hashable, Sendable {
    case messageNew([FetchAttribute])
    case messageExpunge
    case flagChange
    case annotationChange
    case mailboxName
    case subscriptionChange
    case mailboxMetadataChange
    case serverMetadataChange
    /// An event this grammar does not know, by name.
    case other(String)

    public var name: String {
        switch self {
        case .messageNew: "MessageNew"
        case .messageExpunge: "MessageExpunge"
        case .flagChange: "FlagChange"
        case .annotationChange: "AnnotationChange"
        case .mailboxName: "MailboxName"
        case .subscriptionChange: "SubscriptionChange"
        case .mailboxMetadataChange: "MailboxMetadataChange"
        case .serverMetadataChange: "ServerMetadataChange"
        case .other(let name): name
        }
    }

    /// The events about messages, the only ones SELECTED and SELECTED-DELAYED take.
    public var isMessageEvent: Bool {
        switch self {
        case .messageNew, .messageExpunge, .flagChange, .annotationChange: true
        default: false
        }
    }
}
