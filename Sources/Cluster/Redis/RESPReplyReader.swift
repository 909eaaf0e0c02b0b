import CHiredis

/// Turns the bytes a Redis server sends into ``RESPValue``s, using hiredis's incremental reader.
///
/// Bytes may arrive in any slicing: ``feed(_:)`` hands them to hiredis, which keeps the incomplete
/// tail, and ``nextReply()`` returns `nil` until a whole reply is buffered. After a protocol error
/// hiredis refuses further input, so the connection must be dropped.
///
/// Not thread-safe: one reader belongs to one channel and is used only on its event loop.
final class RESPReplyReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        guard let reader = redisReaderCreate() else {
            // hiredis returns NULL only when malloc fails.
            fatalError("hiredis could not allocate a reply reader")
        }
        self.reader = reader
    }

    deinit {
        redisReaderFree(self.reader)
    }

    /// Appends bytes received from the server.
    func feed(_ bytes: UnsafeRawBufferPointer) throws(RedisError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let status = redisReaderFeed(self.reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        guard status == REDIS_OK else {
            throw self.currentError()
        }
    }

    /// The next complete reply, or `nil` when more bytes are needed.
    func nextReply() throws(RedisError) -> RESPValue? {
        var rawReply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(self.reader, &rawReply) == REDIS_OK else {
            throw self.currentError()
        }
        guard let rawReply else {
            return nil
        }
        // The default reply functions of `redisReaderCreate` build `redisReply` trees.
        defer { freeReplyObject(rawReply) }
        return Self.value(of: rawReply.assumingMemoryBound(to: redisReply.self).pointee)
    }

    /// The reader's `errstr`, a `char[128]` that Swift imports as a tuple.
    private func currentError() -> RedisError {
        let message = withUnsafeBytes(of: &self.reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return .protocolError(message.isEmpty ? "hiredis reader error \(self.reader.pointee.err)" : message)
    }

    private static func value(of reply: redisReply) -> RESPValue {
        switch reply.type {
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: Self.bytes(of: reply), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: Self.bytes(of: reply), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.integer))
        case REDIS_REPLY_STRING:
            return .bulkString(Array(Self.bytes(of: reply)))
        case REDIS_REPLY_ARRAY:
            guard let elements = reply.element else { return .array([]) }
            return .array((0..<reply.elements).map { index in
                Self.value(of: elements[index]!.pointee)
            })
        default:
            // REDIS_REPLY_NIL: hiredis folds `$-1` and `*-1` into one type.
            return .null
        }
    }

    private static func bytes(of reply: redisReply) -> UnsafeRawBufferPointer {
        guard let text = reply.str else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: text, count: reply.len)
    }
}
