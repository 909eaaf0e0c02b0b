import NIOCore

/// Counts the octets of BDAT chunks (RFC 3030 section 2), incrementally.
///
/// BDAT content is taken as is: no dot-stuffing, no terminator, any octet allowed. After
/// ``SMTPCommand/bdat(size:last:)`` the session calls ``beginChunk(size:last:)`` and then
/// ``next(_:)`` until ``Event/chunkEnd(last:summary:)``, answering each chunk:
/// ```
/// C: BDAT 86 LAST               decoder.beginChunk(size: 86, last: true)
/// C: To: Susan@random.com ...   -> .content(...) ... -> .chunkEnd(last: true, summary)
/// S: 250 2.0.0 Message OK, 86 octets received
/// ```
/// The chunk's octets are always read, even when the session refuses the chunk: the client
/// sends them without waiting for a reply, so skipping them is the only way to find the next
/// command. Past ``SMTPLimits/maxMessageSize`` (counted over all chunks of the message), and
/// after ``discardMessage()``, octets are drained without being handed out.
public struct BDATDecoder: Sendable {
    public enum Event: Hashable, Sendable {
        /// Content: a slice of the input buffer.
        case content(ByteBuffer)
        /// Every readable byte was consumed (or no chunk is in progress); feed more.
        case needsMoreData
        /// The chunk's octets were all read. `summary` covers the message so far; after the
        /// `LAST` chunk it is final and the next chunk starts a new message.
        case chunkEnd(last: Bool, summary: SMTPMessageSummary)
    }

    private let limits: SMTPLimits
    private var inspector: ContentInspector
    /// Octets of the current chunk still to read; nil between chunks.
    private var remaining: Int?
    private var isLastChunk = false
    private var isDiscarding = false

    public init(limits: SMTPLimits = .default) {
        self.limits = limits
        self.inspector = ContentInspector(limits: limits)
    }

    /// True while a chunk's octets are being read: the connection's bytes are content.
    public var isReadingChunk: Bool { remaining != nil }

    /// Starts reading a chunk of `size` octets.
    public mutating func beginChunk(size: Int, last: Bool) {
        precondition(remaining == nil, "the previous chunk has not ended")
        precondition(size >= 0, "chunk sizes are not negative")
        remaining = size
        isLastChunk = last
    }

    /// Drains the rest of this message without handing it out: for a transaction the session
    /// refused (no valid recipients, a failed earlier chunk).
    public mutating func discardMessage() {
        isDiscarding = true
    }

    /// Forgets the message (RSET, or a transaction the session ended). Commands are only read
    /// between chunks, so no chunk may be in progress.
    public mutating func reset() {
        precondition(remaining == nil, "reset while a chunk is being read")
        inspector = ContentInspector(limits: limits)
        isLastChunk = false
        isDiscarding = false
    }

    public mutating func next(_ buffer: inout ByteBuffer) -> Event {
        while let remaining {
            if remaining == 0 {
                self.remaining = nil
                let last = isLastChunk
                if last {
                    let summary = inspector.finish()
                    inspector = ContentInspector(limits: limits)
                    isDiscarding = false
                    return .chunkEnd(last: true, summary: summary)
                }
                return .chunkEnd(last: false, summary: inspector.summary)
            }
            guard buffer.readableBytes > 0 else { return .needsMoreData }
            let chunk = buffer.readSlice(length: min(remaining, buffer.readableBytes))!
            self.remaining = remaining - chunk.readableBytes
            let withinSize = chunk.withUnsafeReadableBytes { inspector.observe($0) }
            if withinSize, !isDiscarding {
                return .content(chunk)
            }
        }
        return .needsMoreData
    }
}
