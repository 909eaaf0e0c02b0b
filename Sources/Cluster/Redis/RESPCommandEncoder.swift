import CHiredis
import NIOCore

/// Writes a command the way Redis expects it from clients: a RESP array of bulk strings,
/// formatted by hiredis's `redisFormatCommandArgv` (binary safe: each argument goes with its length).
///
/// ```
/// ["SET", "k", "v"]  ->  *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n
/// ```
enum RESPCommandEncoder {
    /// Appends the encoding of one command to `buffer`.
    ///
    /// - Throws: ``RedisError/Code/protocolError`` for a command without arguments, which Redis
    ///   cannot execute and would misalign the replies of a pipeline.
    static func encode(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) throws(RedisError) {
        guard !arguments.isEmpty else {
            throw .protocolError("a command needs at least its name")
        }
        // hiredis wants an array of pointers that stay valid during the call: lay the arguments out
        // back to back in one allocation and point into it. The extra byte keeps the storage
        // non-empty (so its base address exists) when every argument is empty.
        var storage: [UInt8] = []
        storage.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            storage.append(contentsOf: argument)
            lengths.append(argument.count)
        }
        storage.append(0)

        var formatted: UnsafeMutablePointer<CChar>?
        let formattedLength: Int32 = storage.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
            var offset = 0
            var argv: [UnsafePointer<CChar>?] = []
            argv.reserveCapacity(lengths.count)
            for length in lengths {
                argv.append(base + offset)
                offset += length
            }
            return redisFormatCommandArgv(&formatted, Int32(arguments.count), &argv, lengths)
        }
        guard formattedLength >= 0, let formatted else {
            throw .protocolError("hiredis could not format the command")
        }
        defer { redisFreeCommand(formatted) }
        buffer.writeBytes(UnsafeRawBufferPointer(start: formatted, count: Int(formattedLength)))
    }

    /// The encoding of one command in a fresh buffer.
    static func encode(_ arguments: [[UInt8]], allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(RedisError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: arguments.reduce(16) { $0 + $1.count + 16 })
        try self.encode(arguments, into: &buffer)
        return buffer
    }
}
