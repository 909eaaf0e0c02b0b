#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a decoder observed about one message's content, reported at its end.
///
/// Only ``exceedsMaximumSize`` makes the message unacceptable by itself; the others are facts
/// for policy, e.g. refusing 8-bit data on a `BODY=7BIT` transaction, or bare line feeds
/// (which some receivers take as line ends, the root of SMTP smuggling).
public struct SMTPMessageSummary: Hashable, Sendable {
    /// Octets of content as RFC 1870 section 5 counts them: CRLFs included, the terminating dot
    /// and the dots added for transparency not. Counted to the end even past the maximum.
    public var byteCount: Int
    /// True when ``byteCount`` is over ``SMTPLimits/maxMessageSize``: the content was drained
    /// without being delivered, and the server answers ``SMTPReply/messageTooLarge(maximum:)``.
    public var exceedsMaximumSize: Bool
    /// True when a line is longer than ``SMTPLimits/maxTextLineLength`` octets without its CRLF
    /// (RFC 5321 section 4.5.3.1.6).
    public var hasLongLines: Bool
    /// True when any octet has its high bit set (needs `BODY=8BITMIME` or `BINARYMIME`).
    public var hasEightBitData: Bool
    /// True when an LF is not preceded by CR.
    public var hasBareLineFeed: Bool
    /// True when a CR is not followed by LF.
    public var hasBareCarriageReturn: Bool

    public init(
        byteCount: Int = 0,
        exceedsMaximumSize: Bool = false,
        hasLongLines: Bool = false,
        hasEightBitData: Bool = false,
        hasBareLineFeed: Bool = false,
        hasBareCarriageReturn: Bool = false
    ) {
        self.byteCount = byteCount
        self.exceedsMaximumSize = exceedsMaximumSize
        self.hasLongLines = hasLongLines
        self.hasEightBitData = hasEightBitData
        self.hasBareLineFeed = hasBareLineFeed
        self.hasBareCarriageReturn = hasBareCarriageReturn
    }
}

/// Counts content octets and gathers the facts of ``SMTPMessageSummary``, one octet at a time.
struct ContentInspector: Sendable {
    let maxMessageSize: Int
    let maxTextLineLength: Int
    private(set) var summary = SMTPMessageSummary()
    /// Octets of the current line so far, a pending CR included.
    private var lineLength = 0
    private var lastWasCR = false

    init(limits: SMTPLimits) {
        self.maxMessageSize = limits.maxMessageSize
        self.maxTextLineLength = limits.maxTextLineLength
    }

    /// Observes `bytes` as content; returns false once the message is over the maximum size.
    @discardableResult
    mutating func observe(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for byte in bytes { observe(byte) }
        return count(bytes.count)
    }

    /// Adds to the byte count; returns false once the message is over the maximum size.
    mutating func count(_ octets: Int) -> Bool {
        summary.byteCount += octets
        if summary.byteCount > maxMessageSize { summary.exceedsMaximumSize = true }
        return !summary.exceedsMaximumSize
    }

    /// Observes one octet for the facts (``count(_:)`` adds it to the size).
    @inline(__always)
    mutating func observe(_ byte: UInt8) {
        if byte >= 0x80 { summary.hasEightBitData = true }
        if byte == .lf {
            if lastWasCR {
                // CRLF: the line ends; its length does not count the CR.
                if lineLength - 1 > maxTextLineLength { summary.hasLongLines = true }
                lineLength = 0
                lastWasCR = false
                return
            }
            summary.hasBareLineFeed = true
        } else if lastWasCR {
            summary.hasBareCarriageReturn = true
        }
        lastWasCR = byte == .cr
        lineLength += 1
    }

    /// Observes a run of content octets with no LF but, possibly, its last one: the facts
    /// ``observe(_:)-(UInt8)`` would find octet by octet, from one pass for eight-bit octets and a
    /// search for CRs. A CR before the final LF ends the line; any other CR is bare, except a last
    /// one, which the next run judges.
    mutating func observe(segment bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return }
        if !summary.hasEightBitData {
            var union: UInt8 = 0
            for byte in bytes { union |= byte }
            if union >= 0x80 { summary.hasEightBitData = true }
        }
        let endsWithLF = bytes[count - 1] == .lf
        if lastWasCR, bytes[0] != .lf { summary.hasBareCarriageReturn = true }
        // Octets before this bound may not hold a CR: each would be followed by something other than LF.
        let bound = endsWithLF ? count - 2 : count - 1
        if !summary.hasBareCarriageReturn, bound > 0, memchr(base, Int32(UInt8.cr), bound) != nil {
            summary.hasBareCarriageReturn = true
        }
        guard endsWithLF else {
            lineLength += count
            lastWasCR = bytes[count - 1] == .cr
            return
        }
        let crBeforeLF = count >= 2 ? bytes[count - 2] == .cr : lastWasCR
        lastWasCR = false
        if crBeforeLF {
            // CRLF: the line ends; its length does not count the CR.
            if lineLength + count - 2 > maxTextLineLength { summary.hasLongLines = true }
            lineLength = 0
        } else {
            summary.hasBareLineFeed = true
            lineLength += count
        }
    }

    /// The summary once the content has ended; a last line without CRLF (possible with BDAT)
    /// is judged too.
    mutating func finish() -> SMTPMessageSummary {
        if lastWasCR { summary.hasBareCarriageReturn = true }
        let unterminated = lineLength - (lastWasCR ? 1 : 0)
        if unterminated > maxTextLineLength { summary.hasLongLines = true }
        return summary
    }
}
