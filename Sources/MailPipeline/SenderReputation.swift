import MailCore

/// What is known of the server that connected to deliver a message (DNS blocklists), as spam checks.
public protocol SenderReputation: Sendable {
    /// The checks that fired for the connecting address (IPv4 or IPv6 text).
    func checks(forClient address: String) async -> [SpamVerdict.Check]
}
