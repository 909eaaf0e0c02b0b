#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import NIOCore

/// Decodes the content that follows DATA (RFC 5321 sections 3.3 and 4.5.2), incrementally.
///
/// It finds the end of data, `<CRLF>.<CRLF>`, across any chunk boundaries, removes the dot the
/// client added to every line that begins with one, and hands out the content in chunks. The
/// CRLF before the final dot belongs to the content; a first line of just `.` ends an empty
/// message.
///
/// ```
/// C: Subject: hi<CRLF>             -> .content("Subject: hi\r\n")
/// C: ..dotted<CRLF>                -> .content(".dotted\r\n")
/// C: .<CRLF>                       -> .end(SMTPMessageSummary(byteCount: 22, ...))
/// ```
/// Only CRLF counts as a line end. A bare LF or CR is content, passed through and reported in
/// the summary; `\n.\n`, `\r\n.\n` and `\n.\r\n` do not end the data. Accepting them would let a
/// client hide a second message inside the first for a receiver that reads line ends more
/// loosely (SMTP smuggling).
///
/// Past ``SMTPLimits/maxMessageSize`` no more content is handed out, but the decoder reads on
/// to the end of data, so that the session stays in step and can answer `552 5.3.4`
/// (``SMTPMessageSummary/exceedsMaximumSize``).
///
/// Call ``next(_:)`` until it returns ``Event/needsMoreData`` or ``Event/end(_:)``; bytes after the
/// end of data stay in the buffer (the next command). Use a new decoder for each message.
public struct SMTPDataDecoder: Sendable {
    public enum Event: Hashable, Sendable {
        /// Decoded content: a slice of the input buffer, or a one-octet buffer for a CR that
        /// arrived in an earlier chunk.
        case content(ByteBuffer)
        /// Every readable byte was consumed; feed more.
        case needsMoreData
        /// The end of data was read; no content follows.
        case end(SMTPMessageSummary)
    }

    private enum State: Sendable {
        /// After a CRLF (or at the start): a "." here is either transparency or the end.
        case lineStart
        /// Inside a line; `lastWasCR` when the previous octet was a CR of the content.
        case inLine(lastWasCR: Bool)
        /// A "." at the start of a line, held back.
        case dot
        /// "." CR at the start of a line, held back: an LF now ends the data.
        case dotCR
        case finished(SMTPMessageSummary)
    }

    private var state = State.lineStart
    private var inspector: ContentInspector

    public init(limits: SMTPLimits = .default) {
        self.inspector = ContentInspector(limits: limits)
    }

    /// Reads from `buffer` up to the next content chunk or the end of data.
    public mutating func next(_ buffer: inout ByteBuffer) -> Event {
        while true {
            if case .finished(let summary) = state { return .end(summary) }
            guard let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return .needsMoreData }
            switch state {
            case .lineStart where byte == .dot:
                buffer.moveReaderIndex(forwardBy: 1)
                state = .dot
            case .dot:
                if byte == .cr {
                    buffer.moveReaderIndex(forwardBy: 1)
                    state = .dotCR
                } else {
                    // Transparency (RFC 5321 section 4.5.2): the leading dot is dropped.
                    state = .inLine(lastWasCR: false)
                }
            case .dotCR:
                if byte == .lf {
                    buffer.moveReaderIndex(forwardBy: 1)
                    let summary = inspector.finish()
                    state = .finished(summary)
                    return .end(summary)
                }
                // ".<CR>x": the dot was transparency and the CR is content, though it came
                // in an earlier chunk.
                state = .inLine(lastWasCR: true)
                inspector.observe(UInt8.cr)
                if inspector.count(1) { return .content(ByteBuffer(bytes: [UInt8.cr])) }
            case .lineStart, .inLine:
                if let chunk = scanContent(&buffer), inspector.count(chunk.readableBytes) {
                    return .content(chunk)
                }
            case .finished:
                preconditionFailure("handled above")
            }
        }
    }

    /// Takes content octets up to the next "." at the start of a line or the end of the buffer.
    private mutating func scanContent(_ buffer: inout ByteBuffer) -> ByteBuffer? {
        var atLineStart: Bool
        var lastWasCR: Bool
        switch state {
        case .lineStart: (atLineStart, lastWasCR) = (true, false)
        case .inLine(let cr): (atLineStart, lastWasCR) = (false, cr)
        default: return nil
        }
        var inspector = self.inspector
        // Line by line: a search for the next LF, then the octets up to it observed at once.
        let length = buffer.withUnsafeReadableBytes { bytes -> Int in
            guard let base = bytes.baseAddress else { return 0 }
            var index = 0
            while index < bytes.count {
                if atLineStart, bytes[index] == .dot { break }
                let end = memchr(base + index, Int32(UInt8.lf), bytes.count - index).map { base.distance(to: $0) + 1 } ?? bytes.count
                inspector.observe(segment: UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
                if bytes[end - 1] == .lf {
                    atLineStart = end - index >= 2 ? bytes[end - 2] == .cr : lastWasCR
                    lastWasCR = false
                } else {
                    atLineStart = false
                    lastWasCR = bytes[end - 1] == .cr
                }
                index = end
            }
            return index
        }
        self.inspector = inspector
        state = atLineStart ? .lineStart : .inLine(lastWasCR: lastWasCR)
        guard length > 0 else { return nil }
        return buffer.readSlice(length: length)
    }
}
