import Crypto
import Foundation
import MailCore

/// One webhook notification as it goes on the wire: the CloudEvents-style envelope around the
/// event's object, and its signature.
struct WebhookNotification {
    /// Objects larger than this go out as `<type>.truncated` without their body.
    static let maximumObjectBytes = 1 << 20

    let type: String
    let body: [UInt8]

    /// `object` is the event's object as JSON text, with the message body already added when there is one.
    init(event: OutboxEvent, object objectJSON: String, attempt: Int, region: String, applicationID: String) throws {
        var object = (try JSONSerialization.jsonObject(with: Data(objectJSON.utf8)) as? [String: Any]) ?? [:]
        var type = event.type
        if objectJSON.utf8.count > Self.maximumObjectBytes {
            object["body"] = nil
            type += ".truncated"
        }
        let envelope: [String: Any] = [
            "specversion": "1.0",
            "type": type,
            "source": "/mailnode/\(region)",
            "id": Self.eventID(event, region: region),
            "time": event.createdAt,
            "webhook_delivery_attempt": attempt,
            "data": ["application_id": applicationID, "grant_id": event.grantID.rawValue, "object": object] as [String: Any],
        ]
        self.type = type
        body = Array(try JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    /// Stable across retries and unique across regions, so receivers can deduplicate.
    static func eventID(_ event: OutboxEvent, region: String) -> String { "\(region)-\(event.id)" }

    /// `X-Nylas-Signature`: lowercase hex HMAC-SHA256 of the exact body, keyed with the secret's UTF-8 bytes.
    static func signature(of body: [UInt8], secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }
}
