import Foundation
import MIME
import MailCore

/// The `data.object` of a webhook notification, rendered when it is sent.
///
/// A message event's outbox row holds the facts of the moment it happened: the message's folder and
/// flags (see `EventFactsSchema`). The rest of a message never changes, so the object is rendered
/// from the stored message by `MessageObject`, exactly as the REST API shows it, body included, with
/// the event's folder and flags laid over it. A message deleted since then is rendered from the
/// snapshot its deletion left on the row (without a body); only when there is none, as the bare
/// object with its id, folder and flags. Other events carry their object as it was written.
enum WebhookEventObject {
    struct UnreadableStore: Error, CustomStringConvertible {
        let underlying: any Error
        var description: String { "the message could not be read: \(underlying)" }
    }

    /// Throws when the store cannot be read, so that the delivery is tried again rather than sent
    /// without its message. `reload` reads the event's payload as the outbox holds it now: a message
    /// deleted after the event was claimed left its snapshot there.
    static func json(for event: OutboxEvent, store: any MailStore,
                     reload: @Sendable () async throws -> String? = { nil }) async throws -> String {
        guard event.objectType == "message", event.type == "message.created" || event.type == "message.updated",
              let payload = (try? JSONSerialization.jsonObject(with: Data(event.payloadJSON.utf8))) as? [String: Any] else {
            return event.payloadJSON
        }
        let stored: StoredMessage?
        do {
            stored = try await store.message(grant: event.grantID, id: event.objectID, includeRaw: true)
        } catch {
            throw UnreadableStore(underlying: error)
        }
        guard let folderID = payload["folder_id"] as? String else {
            return legacy(payload, stored: stored) ?? event.payloadJSON
        }
        let flags = MessageFlags((payload["flags"] as? [String]) ?? [])
        if var message = stored {
            message.folderID = folderID
            message.flags = flags
            let object = MessageObject(message, parsed: message.raw.map { MIMEMessage(parsing: $0) }, includeHeaders: false)
            return String(decoding: try JSONResponses.encoder.encode(object), as: UTF8.self)
        }
        var snapshot = payload["snapshot"] as? [String: Any]
        if snapshot == nil {
            let current: String?
            do { current = try await reload() } catch { throw UnreadableStore(underlying: error) }
            snapshot = current.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }?["snapshot"]
                as? [String: Any]
        }
        // The snapshot has the shape of the API object, less what a gone message cannot give.
        var object = snapshot.map { $0.filter { $0.key != "size" && $0.key != "has_attachments" } }
            ?? ["object": "message", "id": event.objectID, "grant_id": event.grantID.rawValue]
        object["folders"] = [folderID]
        object["unread"] = !flags.isSeen
        object["starred"] = flags.isFlagged
        return try serialized(object)
    }

    /// A row written before events carried facts holds the whole object; it gets the body when the
    /// message still exists.
    private static func legacy(_ payload: [String: Any], stored: StoredMessage?) -> String? {
        guard let raw = stored?.raw else { return nil }
        var object = payload
        let summary = MIMEMessage(parsing: raw).summary()
        object["body"] = summary.htmlBody ?? summary.textBody ?? ""
        return try? serialized(object)
    }

    private static func serialized(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
               as: UTF8.self)
    }
}
