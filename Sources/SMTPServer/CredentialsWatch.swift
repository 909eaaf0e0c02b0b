import Cluster
import MailCore
import NIOConcurrencyHelpers

/// Hears, over the region's mailbox events, that a logged-in grant's credentials changed: the
/// session then refuses its next MAIL FROM, without asking Postgres before each message. The
/// submission's own transaction checks the credentials version as well, so a change whose event
/// has not arrived yet still refuses the message.
final class CredentialsWatch: Sendable {
    private let events: MailboxEventBus
    private let grant: GrantID
    private let token: Int
    private let changed = NIOLockedValueBox(false)

    init(events: MailboxEventBus, grant: GrantID) {
        self.events = events
        self.grant = grant
        let changed = self.changed
        token = events.listen(grant: grant) { event in
            if case .credentialsChanged = event { changed.withLockedValue { $0 = true } }
        }
    }

    var credentialsChanged: Bool { changed.withLockedValue { $0 } }

    /// Whether the events are flowing: when they are not, a change could go unheard until the
    /// commit refuses the message after its data.
    var hearsChanges: Bool { events.isHealthy }

    func stop() {
        events.stopListening(grant: grant, token: token)
    }
}
