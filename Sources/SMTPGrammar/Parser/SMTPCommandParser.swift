import NIOCore

/// Parses SMTP command lines (RFC 5321 section 4.1 with STARTTLS, AUTH, SIZE, 8BITMIME,
/// CHUNKING/BINARYMIME, SMTPUTF8 and DSN parameters) into ``SMTPCommand`` values, or into an
/// ``SMTPCommandError`` that carries the reply the line deserves.
///
/// The grammar is pure: the session owns the connection and decides what each command may do
/// in its state. A server's read loop, for each buffer read from the connection:
/// ```
/// var reader = SMTPLineReader()
/// let parser = SMTPCommandParser()
/// var data: SMTPDataDecoder?                              // set while DATA content arrives
///
/// while buffer.readableBytes > 0 {
///     if var decoder = data {
///         let event = decoder.next(&buffer)
///         data = decoder
///         switch event {
///         case .content(let chunk): spool(chunk)
///         case .needsMoreData: return
///         case .end(let summary):
///             data = nil
///             send(summary.exceedsMaximumSize ? .messageTooLarge(maximum: parser.limits.maxMessageSize) : .ok)
///         }
///         continue
///     }
///     switch reader.next(&buffer) {
///     case .needsMoreData: return
///     case .lineTooLong: send(.lineTooLong)                  // 500 5.5.6
///     case .line(let line):
///         do {
///             switch try parser.parse(line) {
///             case .mailFrom(let reversePath, let parameters): ...
///             case .data:
///                 send(.startMailInput)                       // 354
///                 data = SMTPDataDecoder(limits: parser.limits)
///             ...
///             }
///         } catch {
///             send(error.reply)                               // e.g. 501 5.1.7 Bad sender address syntax: ...
///             if error.closesConnection { close() }
///         }
///     }
/// }
/// ```
/// where `send(_:)` writes with ``SMTPReplyWriter``. Command lines may end with CRLF, a bare LF
/// (see ``SMTPLineReader``), or nothing; trailing spaces are ignored.
public struct SMTPCommandParser: Sendable {
    public var limits: SMTPLimits

    public init(limits: SMTPLimits = .default) {
        self.limits = limits
    }

    /// Parses one line, with or without its line ending.
    public func parse<Bytes: Collection>(_ line: Bytes) throws(SMTPCommandError) -> SMTPCommand where Bytes.Element == UInt8 {
        var bytes = Array(line)
        if bytes.last == .lf {
            bytes.removeLast()
            if bytes.last == .cr { bytes.removeLast() }
        }
        // Counted as the line plus CRLF, as SMTPLineReader counts it.
        guard bytes.count + 2 <= limits.commandLineLimit(lineStart: bytes.prefix(5)) else {
            throw SMTPCommandError.lineTooLong
        }
        while bytes.last == .space { bytes.removeLast() }
        var cursor = SMTPCursor(bytes, limits: limits)
        return try cursor.command()
    }

    public func parse(_ line: ByteBuffer) throws(SMTPCommandError) -> SMTPCommand {
        try parse(line.readableBytesView)
    }

    public func parse(_ line: String) throws(SMTPCommandError) -> SMTPCommand {
        try parse(Array(line.utf8))
    }
}
