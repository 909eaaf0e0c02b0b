import NIOCore

/// Splits LF-terminated lines out of successive buffers, holding at most one line's bytes.
///
/// A line longer than its limit is discarded up to its LF and reported once, when the LF
/// arrives: replies then stay in step with pipelined commands, and memory stays bounded however
/// long the line is.
struct LineFramer: Sendable {
    enum Outcome: Hashable, Sendable {
        /// A complete line without its LF or CRLF.
        case line(ByteBuffer)
        case needsMoreData
        /// A line over the limit ended; its bytes are gone.
        case tooLong
    }

    /// The start of a line that has not ended yet.
    private var pending = ByteBuffer()
    /// True while skipping the rest of an over-long line.
    private var isDiscarding = false

    /// Reads at most one line from `buffer`, consuming only its bytes. `limit` gives the maximum
    /// length of a line, its line ending included, from the line's first bytes.
    mutating func next(_ buffer: inout ByteBuffer, limit: ([UInt8]) -> Int) -> Outcome {
        guard buffer.readableBytes > 0 else { return .needsMoreData }
        let lineFeedOffset = buffer.withUnsafeReadableBytes { $0.firstIndex(of: .lf) }
        let available = lineFeedOffset.map { $0 + 1 } ?? buffer.readableBytes

        if isDiscarding {
            buffer.moveReaderIndex(forwardBy: available)
            guard lineFeedOffset != nil else { return .needsMoreData }
            isDiscarding = false
            return .tooLong
        }

        let total = pending.readableBytes + available
        let maximum = limit(prefix(of: buffer, count: 8))
        if lengthWithCRLF(total: total, lineFeedOffset: lineFeedOffset, buffer: buffer) > maximum {
            pending.clear()
            buffer.moveReaderIndex(forwardBy: available)
            guard lineFeedOffset != nil else {
                isDiscarding = true
                return .needsMoreData
            }
            return .tooLong
        }

        var chunk = buffer.readSlice(length: available)!
        guard lineFeedOffset != nil else {
            pending.writeBuffer(&chunk)
            return .needsMoreData
        }
        var line: ByteBuffer
        if pending.readableBytes == 0 {
            line = chunk
        } else {
            pending.writeBuffer(&chunk)
            line = pending
            pending = ByteBuffer()
        }
        line.moveWriterIndex(to: line.writerIndex - 1)
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == .cr {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        return .line(line)
    }

    /// The length of the line counted as its content plus CRLF, whichever ending the client
    /// sent, so that a bare-LF line has the same limit as a CRLF one. For a line that has not
    /// ended yet, the least length it can still have.
    private func lengthWithCRLF(total: Int, lineFeedOffset: Int?, buffer: ByteBuffer) -> Int {
        let lastIndex = lineFeedOffset.map { $0 - 1 } ?? (buffer.readableBytes - 1)
        let lastContentByte: UInt8? = lastIndex >= 0
            ? buffer.getInteger(at: buffer.readerIndex + lastIndex, as: UInt8.self)
            : pending.readableBytesView.last
        let endsWithCR = lastContentByte == .cr
        if lineFeedOffset != nil {
            return total - 1 - (endsWithCR ? 1 : 0) + 2
        }
        // A trailing CR may be the first half of the CRLF still to come.
        return total - (endsWithCR ? 1 : 0) + 2
    }

    /// Forgets a partial line.
    mutating func reset() {
        pending = ByteBuffer()
        isDiscarding = false
    }

    /// The first `count` bytes of the current line: those held, then those in `buffer`.
    private func prefix(of buffer: ByteBuffer, count: Int) -> [UInt8] {
        var bytes = Array(pending.readableBytesView.prefix(count))
        if bytes.count < count {
            bytes.append(contentsOf: buffer.readableBytesView.prefix(count - bytes.count))
        }
        return bytes
    }
}
