import NIOCore

/// Anything the server sends (RFC 9051 section 7).
///
/// ```
/// response = *(continue-req / response-data) response-done
/// ```
public enum Response: Hashable, Sendable {
    case tagged(TaggedResponse)
    case untagged(UntaggedResponse)
    case continuation(ContinuationRequest)

    /// Appends the wire form, CRLF included.
    public func write(into writer: inout ResponseWriter) {
        switch self {
        case .tagged(let r): r.write(into: &writer)
        case .untagged(let r): r.write(into: &writer)
        case .continuation(let r): r.write(into: &writer)
        }
    }
}

/// Encodes responses into bytes; the channel handler keeps one per connection.
public struct ResponseEncoder: Sendable {
    /// Set after `ENABLE UTF8=ACCEPT` (or IMAP4rev2): strings may go out quoted in UTF-8.
    public var utf8Accepted: Bool

    public init(utf8Accepted: Bool = false) {
        self.utf8Accepted = utf8Accepted
    }

    public func encode(_ response: Response, into buffer: inout ByteBuffer) {
        var writer = ResponseWriter(buffer: buffer, utf8Accepted: utf8Accepted)
        buffer = ByteBuffer()  // let the writer own the storage uniquely
        response.write(into: &writer)
        buffer = writer.buffer
    }

    public func encode(_ response: Response) -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(response, into: &buffer)
        return buffer
    }
}
