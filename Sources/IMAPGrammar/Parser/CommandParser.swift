import NIOCore

/// The incremental IMAP command parser a channel handler feeds (RFC 9051 sections 2.2, 4.3, 9).
///
/// It frames commands (lines and the literals inside them), enforces ``IMAPLimits``, then runs the
/// pure grammar over the complete command bytes. Call ``parse(_:)`` in a loop until it returns
/// ``ParseResult/needsMoreData``; by then every readable byte of the buffer has been consumed.
///
/// ```
/// C: A001 LOGIN {11}        -> .needsContinuation(literalSize: 11)      S: + Ready
/// C: FRED FOOBAR {7}        -> .needsContinuation(literalSize: 7)       S: + Ready
/// C: fat man                -> .command(A001 LOGIN "FRED FOOBAR" "fat man")
/// ```
/// Modes: the server sets ``mode`` to `.idle` after answering IDLE with `+ idling`, and to
/// `.authenticate` after sending the first AUTHENTICATE challenge. `DONE` (and `*`, or an invalid
/// line, during AUTHENTICATE) put the parser back into `.command` mode by itself; when an
/// AUTHENTICATE exchange ends with the server's tagged response, the server sets `.command`.
public struct CommandParser: Sendable {
    public enum Mode: Hashable, Sendable {
        /// Tagged commands.
        case command
        /// Waiting for `DONE` (RFC 2177).
        case idle
        /// Each line is a base64 SASL response or `*` (RFC 9051 section 6.2.2).
        case authenticate
    }

    public var mode: Mode = .command
    public var limits: IMAPLimits

    private enum State: Sendable {
        /// Reading a line of a command (its first line, or the line after a literal).
        case line
        /// Collecting a non-APPEND literal into `pending`.
        case literal(remaining: Int)
        /// Streaming an APPEND message.
        case appendData(remaining: Int)
        /// Reading what follows an APPEND message: CRLF, or another message (MULTIAPPEND).
        case appendLine
        /// Skipping a non-synchronizing literal of a command already answered `BAD`.
        case discarding(remaining: Int)
        /// Reading, to skip it, a line of a command already answered `BAD`.
        case discardingLine
        /// A bound was exceeded and the connection must close: input is discarded.
        case failed
    }

    private var state: State = .line
    /// Bytes of the current command collected so far (lines and small literals).
    private var pending: [UInt8] = []
    /// Line bytes (outside literals) of the current command.
    private var lineBytes = 0
    /// Results produced together and returned one per call.
    private var queue: [ParseResult] = []
    private var queueIndex = 0
    /// The tag of the APPEND being streamed.
    private var appendTag: String?
    /// Whether the literal last announced with `.needsContinuation` is synchronizing.
    private var awaitingSynchronizingLiteral = false

    public init(limits: IMAPLimits = .default) {
        self.limits = limits
    }

    /// Parses what it can from `buffer`, consuming the bytes it used.
    public mutating func parse(_ buffer: inout ByteBuffer) -> ParseResult {
        if queueIndex < queue.count {
            let result = queue[queueIndex]
            queueIndex += 1
            if queueIndex == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueIndex = 0
            }
            return result
        }
        while true {
            switch state {
            case .failed:
                buffer.moveReaderIndex(to: buffer.writerIndex)
                return .needsMoreData

            case .discarding(let remaining):
                let count = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: count)
                if remaining - count > 0 {
                    state = .discarding(remaining: remaining - count)
                    return .needsMoreData
                }
                state = .discardingLine

            case .literal(let remaining):
                let count = min(remaining, buffer.readableBytes)
                if count > 0, let bytes = buffer.readBytes(length: count) {
                    pending.append(contentsOf: bytes)
                    awaitingSynchronizingLiteral = false
                }
                if remaining - count > 0 {
                    state = .literal(remaining: remaining - count)
                    return .needsMoreData
                }
                state = .line

            case .appendData(let remaining):
                if remaining == 0 {
                    awaitingSynchronizingLiteral = false
                    state = .appendLine
                    return .appendEndMessage
                }
                guard buffer.readableBytes > 0 else { return .needsMoreData }
                let count = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                awaitingSynchronizingLiteral = false
                state = .appendData(remaining: remaining - count)
                return .appendData(slice)

            case .line, .appendLine, .discardingLine:
                switch readLine(&buffer) {
                case .incomplete:
                    return .needsMoreData
                case .tooLong(let kind):
                    let tag = mode != .command ? nil : appendTag ?? Self.leadingTag(pending) ?? Self.leadingTag(buffer.readableBytesView.prefix(256))
                    state = .failed
                    buffer.moveReaderIndex(to: buffer.writerIndex)
                    pending = []
                    return .error(CommandParseError(tag: tag, kind: kind, message: kind == .lineTooLong ? "Command line too long" : "Command too large", closeConnection: true))
                case .complete:
                    if let result = lineComplete() { return result }
                }
            }
        }
    }

    /// The server refuses a literal announced by ``ParseResult/needsContinuation(literalSize:)``
    /// (for instance `NO [OVERQUOTA]` for an APPEND) instead of sending `+`.
    ///
    /// Returns true when the parser is back at the start of a command. Returns false for a
    /// non-synchronizing literal (the client sends it anyway): the server then ignores the
    /// `.appendData` events until `.appendFinish` (or closes the connection).
    @discardableResult
    public mutating func rejectPendingLiteral() -> Bool {
        guard awaitingSynchronizingLiteral else { return false }
        resetCommand()
        return true
    }

    /// Forgets any partial command and returns to command mode. Call it after STARTTLS: bytes
    /// the client sent before the TLS handshake must not be taken as commands (CVE-2011-0411),
    /// so the server also discards what is left in its buffer.
    public mutating func reset() {
        resetCommand()
        mode = .command
    }

    /// True when part of a command has arrived and the rest has not: a literal, what follows one,
    /// or the start of a line.
    public var isWithinCommand: Bool {
        switch state {
        case .literal, .appendData, .appendLine, .discarding, .discardingLine: true
        case .line: !pending.isEmpty || lineBytes > 0
        case .failed: false
        }
    }

    /// True when a bound was exceeded and the parser discards all input until the connection closes.
    public var isFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    // MARK: - framing

    private enum LineStatus {
        case complete
        case incomplete
        case tooLong(CommandParseError.Kind)
    }

    /// Moves bytes up to and including the next LF into `pending`, within the bounds.
    private mutating func readLine(_ buffer: inout ByteBuffer) -> LineStatus {
        let lfOffset = buffer.withUnsafeReadableBytes { $0.firstIndex(of: 0x0A) }
        let count = lfOffset.map { $0 + 1 } ?? buffer.readableBytes
        if lineBytes + count > limits.maxCommandLineLength { return .tooLong(.lineTooLong) }
        if pending.count + count > limits.maxCommandSize { return .tooLong(.commandTooLarge) }
        if count > 0, let bytes = buffer.readBytes(length: count) {
            pending.append(contentsOf: bytes)
        }
        lineBytes += count
        return lfOffset == nil ? .incomplete : .complete
    }

    private mutating func resetCommand() {
        state = .line
        pending.removeAll(keepingCapacity: pending.capacity <= 4096)
        lineBytes = 0
        appendTag = nil
        queue.removeAll()
        queueIndex = 0
        awaitingSynchronizingLiteral = false
    }

    private mutating func emit(_ results: [ParseResult]) -> ParseResult {
        queue = Array(results.dropFirst())
        queueIndex = 0
        return results[0]
    }

    /// An error result; when the connection must close, all further input is discarded so that
    /// the bytes of a rejected literal are never taken for commands.
    private mutating func error(_ kind: CommandParseError.Kind, _ message: String, tag: String?, close: Bool = false) -> ParseResult {
        if close { state = .failed }
        return .error(CommandParseError(tag: tag, kind: kind, message: message, closeConnection: close))
    }

    /// Called when `pending` ends with a complete line. Returns nil to keep reading.
    private mutating func lineComplete() -> ParseResult? {
        switch mode {
        case .idle: return idleLine()
        case .authenticate: return authenticateLine()
        case .command: break
        }
        let marker: GrammarCursor.LiteralMarker?
        do {
            marker = try Self.literalMarker(in: pending)
        } catch {
            let tag = appendTag ?? Self.leadingTag(pending)
            resetCommand()
            return self.error(.badSyntax, "Invalid literal size", tag: tag, close: true)
        }
        if case .appendLine = state { return appendLineComplete(marker: marker) }
        if case .discardingLine = state {
            // The rest of a rejected command: another literal the client sends unasked, or its end.
            resetCommand()
            guard let marker, !marker.synchronizing else { return nil }
            guard marker.size <= UInt64(limits.maxAppendLiteralSize) else {
                // Too large to skip: its bytes must not be read as commands either.
                return self.error(.literalTooLarge, "Literal too large", tag: nil, close: true)
            }
            state = .discarding(remaining: Int(marker.size))
            return nil
        }

        guard let marker else {
            // A complete command.
            if pending.count <= 2, pending.allSatisfy({ $0 == 0x0D || $0 == 0x0A }) {
                resetCommand()  // tolerate empty lines
                return nil
            }
            var cursor = GrammarCursor(pending, limits: limits)
            let result: ParseResult
            do {
                result = .command(try cursor.taggedCommand())
            } catch {
                result = self.error(error.kind, error.message, tag: Self.leadingTag(pending))
            }
            resetCommand()
            return result
        }

        // A literal follows. Is it the message of an APPEND?
        var cursor = GrammarCursor(pending, limits: limits)
        if let head = try? cursor.appendHead() {
            do {
                let message = try cursor.appendMessageHead(marker: marker)
                return beginAppendMessage(message, tag: head.tag, start: (head.tag, head.mailbox))
            } catch {
                return reject(error.kind, error.message, tag: head.tag, before: marker, upTo: limits.maxAppendLiteralSize)
            }
        }

        // An ordinary literal (a string argument).
        let tag = Self.leadingTag(pending)
        // A metadata value may be a literal8 (RFC 5464 section 5); no other argument may.
        if marker.binary, !Self.takesLiteral8(pending) {
            return reject(.badSyntax, "literal8 is only allowed for APPEND data and metadata values", tag: tag, before: marker,
                          upTo: limits.maxLiteralSize)
        }
        if marker.size > UInt64(limits.maxLiteralSize) {
            resetCommand()
            return self.error(.literalTooLarge, "Literal too large", tag: tag, close: !marker.synchronizing)
        }
        if pending.count + Int(marker.size) > limits.maxCommandSize {
            resetCommand()
            return self.error(.commandTooLarge, "Command too large", tag: tag, close: !marker.synchronizing)
        }
        if marker.synchronizing {
            // Reject before the client sends the literal when the command cannot be valid.
            if tag == nil {
                resetCommand()
                return self.error(.badSyntax, "Invalid tag", tag: nil)
            }
            var probe = GrammarCursor(pending, limits: limits)
            _ = try? probe.tag()
            _ = probe.take(0x20)
            let name = probe.keyword()
            if !GrammarCursor.knownCommands.contains(name) {
                resetCommand()
                return self.error(.unknownCommand, "Unknown command \(name)", tag: tag)
            }
            state = .literal(remaining: Int(marker.size))
            awaitingSynchronizingLiteral = true
            return .needsContinuation(literalSize: Int(marker.size))
        }
        state = .literal(remaining: Int(marker.size))
        return nil
    }

    private mutating func beginAppendMessage(_ message: AppendMessage, tag: String, start: (String, MailboxName)?) -> ParseResult {
        if message.size > limits.maxAppendLiteralSize {
            resetCommand()
            return error(.appendTooLarge, "Message too large (maximum \(limits.maxAppendLiteralSize) octets)", tag: tag, close: !message.isSynchronizing)
        }
        pending.removeAll(keepingCapacity: true)
        lineBytes = 0
        appendTag = tag
        state = .appendData(remaining: message.size)
        var results: [ParseResult] = []
        if let start { results.append(.appendStart(tag: start.0, mailbox: start.1)) }
        results.append(.appendBeginMessage(message))
        if message.isSynchronizing {
            awaitingSynchronizingLiteral = true
            results.append(.needsContinuation(literalSize: message.size))
        }
        return emit(results)
    }

    /// The line after an APPEND message: CRLF ends the command, or another message follows.
    private mutating func appendLineComplete(marker: GrammarCursor.LiteralMarker?) -> ParseResult {
        let tag = appendTag
        if pending == [0x0D, 0x0A] || pending == [0x0A] {
            resetCommand()
            return .appendFinish
        }
        guard let marker else {
            resetCommand()
            return error(.badSyntax, "Expected CRLF or another message after APPEND data", tag: tag)
        }
        var cursor = GrammarCursor(pending, limits: limits)
        do {
            let message = try cursor.appendMessageHead(marker: marker)
            return beginAppendMessage(message, tag: tag ?? "*", start: nil)
        } catch {
            return reject(error.kind, error.message, tag: tag, before: marker, upTo: limits.maxAppendLiteralSize)
        }
    }

    /// `BAD` for a command whose line before a literal is wrong. A client sends a non-synchronizing
    /// literal without waiting (RFC 7888), so its octets, and the rest of the command after them,
    /// are skipped rather than read as commands; the connection stays open. A literal larger than
    /// `limit` closes it, as the size limits do.
    private mutating func reject(_ kind: CommandParseError.Kind, _ message: String, tag: String?,
                                 before marker: GrammarCursor.LiteralMarker, upTo limit: Int) -> ParseResult {
        resetCommand()
        guard !marker.synchronizing else { return error(kind, message, tag: tag) }
        guard marker.size <= UInt64(limit) else { return error(kind, message, tag: tag, close: true) }
        state = .discarding(remaining: Int(marker.size))
        return error(kind, message, tag: tag)
    }

    private mutating func idleLine() -> ParseResult {
        let line = Self.trimmedLine(pending)
        resetCommand()
        if line.count == 4, line.map(GrammarCursor.upper) == Array("DONE".utf8) {
            mode = .command
            return .idleDone
        }
        return error(.badSyntax, "Expected DONE", tag: nil)
    }

    private mutating func authenticateLine() -> ParseResult {
        let line = Self.trimmedLine(pending)
        resetCommand()
        if line == [0x2A] {
            mode = .command
            return .authenticationResponse(.cancel)
        }
        guard let data = Base64.decode(line) else {
            mode = .command
            return error(.badSyntax, "Invalid base64 in authentication response", tag: nil)
        }
        return .authenticationResponse(.data(data))
    }

    // MARK: - helpers

    static func trimmedLine(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var end = bytes.count
        if end > 0, bytes[end - 1] == 0x0A { end -= 1 }
        if end > 0, bytes[end - 1] == 0x0D { end -= 1 }
        return bytes[0..<end]
    }

    /// `literal = "{" number64 ["+"] "}" CRLF` / `literal8 = "~{" number64 "}" CRLF` at the end
    /// of the last line in `bytes`; nil when the line does not end with one.
    static func literalMarker(in bytes: [UInt8]) throws(GrammarError) -> GrammarCursor.LiteralMarker? {
        var end = bytes.count
        guard end > 0, bytes[end - 1] == 0x0A else { return nil }
        end -= 1
        if end > 0, bytes[end - 1] == 0x0D { end -= 1 }
        guard end > 0, bytes[end - 1] == 0x7D else { return nil }
        var i = end - 2
        var synchronizing = true
        if i >= 0, bytes[i] == 0x2B { synchronizing = false; i -= 1 }
        let digitsEnd = i + 1
        while i >= 0, GrammarCursor.isDigit(bytes[i]) { i -= 1 }
        let digitsStart = i + 1
        guard i >= 0, bytes[i] == 0x7B, digitsEnd > digitsStart else { return nil }
        // A quoted string cannot hold CR/LF, and atoms cannot hold "{": this is a literal.
        guard digitsEnd - digitsStart <= 19 else { throw .syntax("literal size too long") }
        var size: UInt64 = 0
        for b in bytes[digitsStart..<digitsEnd] { size = size * 10 + UInt64(b - 0x30) }
        guard size <= UInt64(Int64.max) else { throw .syntax("literal size out of range") }
        var start = i
        var binary = false
        if i > 0, bytes[i - 1] == 0x7E { binary = true; start = i - 1 }
        return .init(size: size, synchronizing: synchronizing, binary: binary, start: start)
    }

    /// The tag at the start of `bytes` when it is a valid tag followed by SP.
    /// The tag of a line that starts with one: tag characters up to a space, or up to the end of a
    /// line that has nothing else (`DONE` sent after the server already ended IDLE is answered
    /// `DONE BAD`, under the tag the client will look for).
    static func leadingTag<Bytes: Collection>(_ bytes: Bytes) -> String? where Bytes.Element == UInt8 {
        var tag: [UInt8] = []
        for b in bytes {
            if b == 0x20 || b == 0x0D || b == 0x0A { return tag.isEmpty ? nil : String(decoding: tag, as: UTF8.self) }
            guard GrammarCursor.isTagChar(b), tag.count < 256 else { return nil }
            tag.append(b)
        }
        return nil
    }

    /// Whether the command in `bytes` is SETMETADATA, whose values may be literal8.
    static func takesLiteral8<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        guard let tag = leadingTag(bytes) else { return false }
        let rest = bytes.dropFirst(tag.utf8.count + 1).prefix(12).map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
        return rest.elementsEqual("SETMETADATA ".utf8)
    }
}
