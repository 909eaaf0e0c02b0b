@testable import IMAPServer
import NIOCore
import NIOEmbedded

struct TranscriptFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, failing if it has not finished within `limit` (a guard against a hang, never a wait).
func withTimeout<Value: Sendable>(_ what: String, _ limit: Duration = .seconds(10),
                                  _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
    let outcome = TimedOutcome<Value>()
    Task {
        do {
            await outcome.settle(with: .success(try await body()))
        } catch {
            await outcome.settle(with: .failure(error))
        }
    }
    let guardTask = Task {
        try await Task.sleep(for: limit)
        await outcome.settle(with: .failure(TranscriptFailure("timed out after \(limit) waiting for \(what)")))
    }
    defer { guardTask.cancel() }
    return try await outcome.value()
}

/// The first of several outcomes to arrive.
private actor TimedOutcome<Value: Sendable> {
    private var result: Result<Value, any Error>?
    private var waiter: CheckedContinuation<Value, any Error>?

    func settle(with result: Result<Value, any Error>) {
        guard self.result == nil else { return }
        self.result = result
        waiter?.resume(with: result)
        waiter = nil
    }

    func value() async throws -> Value {
        if let result { return try result.get() }
        return try await withCheckedThrowingContinuation { waiter = $0 }
    }
}

/// What the server wrote and the test has not read yet.
private actor ServerOutput {
    private var bytes: [UInt8] = []
    private var closed = false
    private var waiter: CheckedContinuation<Void, Never>?

    func append(_ more: [UInt8]) {
        bytes += more
        waiter?.resume()
        waiter = nil
    }

    func close() {
        closed = true
        waiter?.resume()
        waiter = nil
    }

    /// The next CRLF-terminated line without its CRLF; nil once the connection closed without one.
    func line() async -> String? {
        while true {
            if let end = bytes.indices.dropLast().first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) {
                let line = String(decoding: bytes[..<end], as: UTF8.self)
                bytes.removeFirst(end + 2)
                return line
            }
            if closed { return nil }
            await withCheckedContinuation { waiter = $0 }
        }
    }

    var unread: String { String(decoding: bytes, as: UTF8.self) }
    var isClosed: Bool { closed }
}

/// One IMAP session of a test node, driven line by line: the session and its channel handler are
/// the node's own, the channel is `NIOAsyncTestingChannel`, and the clock is the test's.
final class TranscriptClient: Sendable {
    let channel: NIOAsyncTestingChannel
    private let events: SessionInbox
    private let output: ServerOutput
    private let session: Task<Void, Never>

    private init(channel: NIOAsyncTestingChannel, events: SessionInbox, output: ServerOutput,
                 session: Task<Void, Never>) {
        self.channel = channel
        self.events = events
        self.output = output
        self.session = session
    }

    static func open(context: IMAPServerContext) async throws -> TranscriptClient {
        let channel = NIOAsyncTestingChannel()
        let inbox = SessionInbox()
        let connection = try await channel.testingEventLoop.executeInContext {
            let handler = IMAPChannelHandler(limits: context.limits, events: inbox)
            try channel.pipeline.syncOperations.addHandler(handler)
            return IMAPConnection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                                  remoteAddress: "192.0.2.\(Int.random(in: 1...254))", isTLS: true)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 993))
        let output = ServerOutput()
        Task {
            while let written = try? await channel.waitForOutboundWrite(as: ByteBuffer.self) {
                await output.append(Array(written.readableBytesView))
            }
            await output.close()
        }
        let id = "transcript-\(Int.random(in: 0..<Int.max))"
        let (ended, endedSink) = AsyncStream<Void>.makeStream()
        IMAPSession(context: context, connection: connection, connectionID: id, inbox: inbox).start(in: OpenSessions()) { endedSink.finish() }
        let session = Task { for await _ in ended {} }
        return TranscriptClient(channel: channel, events: inbox, output: output, session: session)
    }

    func send(_ line: String) async throws {
        try await channel.writeInbound(ByteBuffer(string: line + "\r\n"))
    }

    /// Bytes exactly as given (a literal's content, a line without its CRLF).
    func sendRaw(_ bytes: String) async throws {
        try await channel.writeInbound(ByteBuffer(string: bytes))
    }

    func readLine() async throws -> String {
        let output = self.output
        let line: String? = try await withTimeout("a line from the server", .seconds(10)) { await output.line() }
        guard let line else {
            throw TranscriptFailure("the server closed the connection")
        }
        return line
    }

    /// Reads lines up to and including the one starting with `tag `, returning them all.
    func readUntilTagged(_ tag: String) async throws -> [String] {
        var lines: [String] = []
        while true {
            let line = try await readLine()
            lines.append(line)
            if line.hasPrefix(tag + " ") { return lines }
        }
    }

    /// Plays a transcript: `C:` lines are sent as they are (CRLF added), `S:` lines must be what
    /// the server writes next, in order; `…` in an `S:` line stands for any text. Nothing else may
    /// have been written when the transcript ends.
    func run(_ transcript: String, sourceLocation: String = #function) async throws {
        for raw in transcript.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.drop { $0 == " " }
            if line.hasPrefix("C: ") {
                try await send(String(line.dropFirst(3)))
            } else if line.hasPrefix("S: ") {
                let expected = String(line.dropFirst(3))
                let actual = try await readLine()
                guard Self.matches(actual, expected) else {
                    throw TranscriptFailure("expected  \(expected)\n got       \(actual)\n (unread: \(await output.unread))")
                }
            } else {
                throw TranscriptFailure("a transcript line starts with C: or S:, not \(line)")
            }
        }
        let unread = await output.unread
        guard unread.isEmpty else { throw TranscriptFailure("unexpected output after the transcript: \(unread)") }
    }

    /// APPENDs `message` (lines joined with CRLF) as a non-synchronizing literal and returns its UID.
    @discardableResult
    func append(_ message: String, to mailbox: String = "INBOX", flags: String = "", tag: String = "ap") async throws -> Int {
        let bytes = message.replacingOccurrences(of: "\n", with: "\r\n")
        try await sendRaw("\(tag) APPEND \(mailbox) \(flags.isEmpty ? "" : "(\(flags)) "){\(bytes.utf8.count)+}\r\n\(bytes)\r\n")
        let lines = try await readUntilTagged(tag)
        guard let last = lines.last, last.hasPrefix("\(tag) OK [APPENDUID "),
              let uid = last.split(separator: " ").dropFirst(4).first.flatMap({ Int($0.dropLast()) }) else {
            throw TranscriptFailure("APPEND failed: \(lines)")
        }
        return uid
    }

    static func matches(_ actual: String, _ expected: String) -> Bool {
        let pieces = expected.components(separatedBy: "…")
        guard pieces.count > 1 else { return actual == expected }
        guard actual.hasPrefix(pieces[0]), actual.hasSuffix(pieces[pieces.count - 1]),
              actual.count >= pieces[0].count + pieces[pieces.count - 1].count else { return false }
        var rest = actual.dropFirst(pieces[0].count).dropLast(pieces[pieces.count - 1].count)
        for middle in pieces.dropFirst().dropLast() {
            guard let range = rest.range(of: middle) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }

    /// A timer tick, as the listener sends every few seconds.
    func tick() {
        events.yield(.tick)
    }

    /// The node starts draining.
    func shutdown() {
        events.yield(.shutdown)
    }

    /// Waits until the session has ended (after LOGOUT, BYE or a close).
    func ended() async throws {
        let session = self.session
        try await withTimeout("the session to end") { await session.value }
    }

    var isClosedByServer: Bool {
        get async { await output.isClosed }
    }

    func close() async {
        try? await channel.close()
        await session.value
    }
}
