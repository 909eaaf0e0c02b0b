/// A message delivered to a subscribed connection.
///
/// Redis pushes these as arrays on a connection in subscribed mode:
/// ```
/// *3\r\n$7\r\nmessage\r\n$7\r\ngrant:7\r\n$5\r\nhello\r\n              (SUBSCRIBE)
/// *4\r\n$8\r\npmessage\r\n$7\r\ngrant:*\r\n$7\r\ngrant:7\r\n$5\r\nhello\r\n  (PSUBSCRIBE)
/// ```
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel the message was published on.
    public var channel: String
    /// The pattern that matched, for messages received through `PSUBSCRIBE`.
    public var pattern: String?
    /// The published bytes, unchanged.
    public var payload: [UInt8]

    public init(channel: String, pattern: String? = nil, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload as UTF-8 text, or `nil` when it is not valid UTF-8.
    public var payloadString: String? {
        String(validating: self.payload, as: UTF8.self)
    }

    /// Recognises a pushed `message` or `pmessage`; `nil` for anything else (including the
    /// `subscribe`/`unsubscribe` confirmations, which answer a command).
    init?(push reply: RESPValue) {
        guard case .array(let parts) = reply, let kind = parts.first?.bytes else {
            return nil
        }
        switch (Self.kind(kind), parts.count) {
        case (.message, 3):
            guard let channel = parts[1].bytes, let payload = parts[2].bytes else { return nil }
            self.init(channel: String(decoding: channel, as: UTF8.self), payload: payload)
        case (.patternMessage, 4):
            guard let pattern = parts[1].bytes, let channel = parts[2].bytes, let payload = parts[3].bytes else { return nil }
            self.init(channel: String(decoding: channel, as: UTF8.self),
                      pattern: String(decoding: pattern, as: UTF8.self),
                      payload: payload)
        default:
            return nil
        }
    }

    private enum Kind {
        case message, patternMessage, other
    }

    private static func kind(_ bytes: [UInt8]) -> Kind {
        if bytes.elementsEqual("message".utf8) { return .message }
        if bytes.elementsEqual("pmessage".utf8) { return .patternMessage }
        return .other
    }
}
