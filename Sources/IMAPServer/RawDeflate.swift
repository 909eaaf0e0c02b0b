import CZlib
import NIOCore

/// One direction of a raw DEFLATE stream (RFC 1951, no zlib header), as COMPRESS=DEFLATE uses
/// (RFC 4978 section 4): `Deflater` for what the server sends, `Inflater` for what it reads.
/// zlib's state lives at a fixed address for the stream's life, hence the class and the pointer.
final class RawDeflateStream {
    enum Direction { case deflate, inflate }

    /// The window we compress with: 2 KiB instead of zlib's 32 KiB, with memLevel 5, so that
    /// sending costs a session 24 KiB instead of 256 KiB. What we read must allow the client's
    /// full 32 KiB window (about 39 KiB, allocated once the client sends compressed data).
    static let deflateWindowBits: Int32 = -11
    static let deflateMemoryLevel: Int32 = 5
    static let inflateWindowBits: Int32 = -15

    struct StreamError: Error, CustomStringConvertible {
        var code: Int32
        var description: String { "zlib error \(code)" }
    }

    let direction: Direction
    private let stream: UnsafeMutablePointer<z_stream>

    init(_ direction: Direction, level: Int32 = 1) throws {
        self.direction = direction
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let size = Int32(MemoryLayout<z_stream>.size)
        let status = switch direction {
        case .deflate:
            deflateInit2_(stream, level, Z_DEFLATED, Self.deflateWindowBits, Self.deflateMemoryLevel, Z_DEFAULT_STRATEGY, zlibVersion(), size)
        case .inflate:
            inflateInit2_(stream, Self.inflateWindowBits, zlibVersion(), size)
        }
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw StreamError(code: status)
        }
    }

    deinit {
        switch direction {
        case .deflate: deflateEnd(stream)
        case .inflate: inflateEnd(stream)
        }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input` and flushes it (Z_SYNC_FLUSH), so the peer can read everything sent so
    /// far: each batch of responses goes out whole.
    func deflate(_ input: inout ByteBuffer, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var output = allocator.buffer(capacity: Int(deflateBound(stream, UInt(input.readableBytes))) + 16)
        // zlib never writes through next_in: reading in place spares a copy of the whole response.
        try input.withUnsafeReadableBytes { source in
            stream.pointee.next_in = source.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
            stream.pointee.avail_in = UInt32(source.count)
            repeat {
                if output.writableBytes < 64 { output.reserveCapacity(minimumWritableBytes: 4096) }
                let status = output.withUnsafeMutableWritableBytes { target in
                    stream.pointee.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = UInt32(target.count)
                    let status = CZlib.deflate(stream, Z_SYNC_FLUSH)
                    return (status, target.count - Int(stream.pointee.avail_out))
                }
                output.moveWriterIndex(forwardBy: status.1)
                guard status.0 == Z_OK || status.0 == Z_BUF_ERROR else { throw StreamError(code: status.0) }
                // Done when zlib had room to spare: all input taken and the flush written.
            } while stream.pointee.avail_out == 0 || stream.pointee.avail_in > 0
            stream.pointee.next_in = nil
        }
        input.moveReaderIndex(to: input.writerIndex)
        return output
    }

    /// True when the last `inflate` stopped at its limit with output it may still hold (the rest
    /// of a back-reference): the next call must run even without new input.
    private(set) var mayHoldOutput = false
    /// The client ended its stream (Z_FINISH): whatever follows is an error.
    private(set) var ended = false

    /// Decompresses from `input` until it is used up or `limit` bytes came out; what is left of
    /// `input` waits for the next call. A corrupt stream, or input after its end, throws.
    func inflate(_ input: inout ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        if ended, input.readableBytes > 0 { throw StreamError(code: Z_STREAM_END) }
        var output = allocator.buffer(capacity: min(limit, max(4096, input.readableBytes * 4)))
        let consumed: Int = try input.withUnsafeReadableBytes { source in
            // zlib never writes through next_in.
            stream.pointee.next_in = source.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
            stream.pointee.avail_in = UInt32(source.count)
            defer { stream.pointee.next_in = nil }
            while !ended, output.readableBytes < limit, stream.pointee.avail_in > 0 || mayHoldOutput {
                if output.writableBytes == 0 { output.reserveCapacity(minimumWritableBytes: min(16 * 1024, limit - output.readableBytes)) }
                let room = min(output.writableBytes, limit - output.readableBytes)
                let (status, produced) = output.withUnsafeMutableWritableBytes { target in
                    stream.pointee.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = UInt32(room)
                    let status = CZlib.inflate(stream, Z_SYNC_FLUSH)
                    return (status, room - Int(stream.pointee.avail_out))
                }
                output.moveWriterIndex(forwardBy: produced)
                mayHoldOutput = produced == room
                if status == Z_STREAM_END { ended = true; mayHoldOutput = false; break }
                guard status == Z_OK || status == Z_BUF_ERROR else { throw StreamError(code: status) }
                if produced == 0 { mayHoldOutput = false; if status == Z_BUF_ERROR { break } }
            }
            return source.count - Int(stream.pointee.avail_in)
        }
        input.moveReaderIndex(forwardBy: consumed)
        return output
    }
}
