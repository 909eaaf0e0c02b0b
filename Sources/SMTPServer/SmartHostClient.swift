import Foundation
import Logging
import MailCore
import NIOCore
import NIOPosix
import NIOSSL
import SMTPGrammar
import Storage

/// The SMTP client that hands mail for other domains to the configured smart host (RFC 5321
/// client side, RFC 3207 STARTTLS, RFC 4954 AUTH PLAIN). Outcomes are per recipient: a 4xx or a
/// connection failure is temporary, a 5xx permanent.
///
/// A connection stays open after a delivery the smart host accepted or refused at the end of its
/// data, for the next delivery (RFC 5321 3.3 allows many transactions per session): the greeting,
/// EHLO, STARTTLS and AUTH are paid once per connection instead of once per message. A refusal
/// anywhere else, or a failure, closes it.
public struct SmartHostClient: Sendable {
    public enum Security: String, Sendable {
        case none, startTLS, implicitTLS
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var credentials: (username: String, password: String)?
    /// Our name in EHLO.
    public var heloName: String
    public var timeout: Duration = .seconds(60)
    /// How long a connection waits open for the next delivery after one ended.
    public var idleTimeout: Duration = .seconds(5)
    /// Transactions one connection carries before it closes.
    public var transactionsPerConnection = 100
    var logger: Logger
    let tls: NIOSSLContext
    /// Connections waiting for their next delivery, shared by every copy of this client.
    let idleConnections = SmartHostIdleConnections()

    public init(host: String, port: Int, security: Security, credentials: (username: String, password: String)?, heloName: String,
                logger: Logger) throws {
        self.host = host
        self.port = port
        self.security = security
        self.credentials = credentials
        self.heloName = heloName
        self.logger = logger
        tls = try NIOSSLContext(configuration: .makeClientConfiguration())
    }

    /// A reply the smart host gave where we needed another.
    struct Refusal: Error {
        let reply: SMTPReply
        let step: String
    }

    public func deliver(from sender: String, to recipients: [String], message: [UInt8]) async -> [String: RecipientOutcome] {
        // A minute, plus time to move the message at 50 KB/s on a slow link.
        let budget = timeout + .seconds(message.count / 50_000)
        do {
            return try await withDeadline(budget, what: "the smart host") {
                try await self.transactionOnAnyConnection(from: sender, to: recipients, message: message)
            }
        } catch is DeadlineExceeded {
            return Self.all(recipients, .temporaryFailure(status: "4.4.2", reason: "the smart host did not answer in time"))
        } catch let refusal as Refusal {
            let text = "\(refusal.step): \(refusal.reply.code) \(refusal.reply.text)"
            // A 5xx before MAIL (greeting, EHLO, STARTTLS, AUTH) says the relay is set up wrong,
            // not that the message is undeliverable: retried, and an operator can fix it meanwhile.
            let aboutTheMessage = refusal.step == "MAIL FROM" || refusal.step == "DATA"
            let outcome: RecipientOutcome = refusal.reply.code >= 500 && aboutTheMessage
                ? .permanentFailure(status: refusal.reply.enhancedStatusCode?.description ?? "5.0.0", reason: "the smart host refused \(text)")
                : .temporaryFailure(status: refusal.reply.enhancedStatusCode?.description ?? "4.0.0", reason: "the smart host deferred \(text)")
            return Self.all(recipients, outcome)
        } catch {
            logger.warning("smart host unreachable", metadata: ["smart_host": "\(host):\(port)", "error": "\(error)"])
            return Self.all(recipients, .temporaryFailure(status: "4.4.1", reason: "the smart host \(host):\(port) could not be reached (\(error))"))
        }
    }

    static func all(_ recipients: [String], _ outcome: RecipientOutcome) -> [String: RecipientOutcome] {
        Dictionary(uniqueKeysWithValues: recipients.map { ($0, outcome) })
    }

    /// Runs the transaction on a connection left open by an earlier delivery, or on a new one. A
    /// kept connection the smart host closed meanwhile fails before the smart host answered MAIL,
    /// so before it could have taken the message: the transaction then runs once more on a new
    /// connection.
    private func transactionOnAnyConnection(from sender: String, to recipients: [String], message: [UInt8]) async throws
        -> [String: RecipientOutcome] {
        while true {
            try Task.checkCancellation()
            let request = SmartHostRequest(sender: sender, recipients: recipients, message: message)
            let outcome = await withTaskCancellationHandler {
                await withCheckedContinuation { (completion: CheckedContinuation<SmartHostRequest.Outcome, Never>) in
                    request.start(completion)
                    if let parked = idleConnections.take() {
                        parked.resume(returning: request)
                    } else {
                        Task { await self.serveOnNewConnection(first: request) }
                    }
                }
            } onCancel: {
                request.cancel()
            }
            switch outcome {
            case .delivered(let outcomes): return outcomes
            case .staleConnection: continue
            case .failed(let error): throw error
            }
        }
    }

    /// One connection: the greeting, EHLO, STARTTLS and AUTH once, then transactions until the
    /// smart host refuses something, a transaction fails, `transactionsPerConnection` were sent, or
    /// no delivery came for `idleTimeout`.
    private func serveOnNewConnection(first: SmartHostRequest) async {
        var pending: SmartHostRequest? = first
        let tls = self.tls, host = self.host, implicit = security == .implicitTLS
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(30))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicit {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: host))
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            first.attach(channel.channel)
            try await channel.executeThenClose { inbound, outbound in
                var replies = SMTPClientReplyReader(inbound.makeAsyncIterator())
                let greeting = try await replies.next()
                guard greeting.code == 220 else { throw Refusal(reply: greeting, step: "greeting") }
                var ehlo = try await Self.command("EHLO \(heloName)", expect: 250...250, step: "EHLO", outbound, &replies)
                if security == .startTLS {
                    guard ehlo.lines.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                        throw Refusal(reply: SMTPReply(code: 454, enhancedStatusCode: .init(4, 7, 0), "STARTTLS not offered"), step: "EHLO")
                    }
                    _ = try await Self.command("STARTTLS", expect: 220...220, step: "STARTTLS", outbound, &replies)
                    // Bytes after the 220 came in clear text and must not be read as answers over TLS
                    // (STARTTLS response injection).
                    guard !replies.hasBufferedBytes else {
                        throw Refusal(reply: SMTPReply(code: 454, enhancedStatusCode: .init(4, 7, 0), "data after the STARTTLS reply"), step: "STARTTLS")
                    }
                    try await channel.channel.pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: host), position: .first)
                    ehlo = try await Self.command("EHLO \(heloName)", expect: 250...250, step: "EHLO", outbound, &replies)
                }
                if let credentials {
                    let token = Data(([0] + Array(credentials.username.utf8) + [0] + Array(credentials.password.utf8))).base64EncodedString()
                    _ = try await Self.command("AUTH PLAIN \(token)", expect: 235...235, step: "AUTH", outbound, &replies)
                }
                let offersSize = ehlo.lines.contains { $0.uppercased().hasPrefix("SIZE") }
                var sent = 0
                while let request = pending {
                    request.attach(channel.channel)
                    let reused = sent > 0
                    let result: (outcomes: [String: RecipientOutcome], reusable: Bool)
                    do {
                        result = try await Self.transaction(request, offersSize: offersSize, outbound, &replies)
                    } catch let broken as BrokenBeforeMail where reused {
                        _ = broken
                        pending = nil
                        request.finish(.staleConnection)
                        return
                    } catch let broken as BrokenBeforeMail {
                        throw broken.underlying
                    }
                    pending = nil
                    request.finish(.delivered(result.outcomes))
                    sent += 1
                    guard result.reusable, sent < transactionsPerConnection, !request.isCancelled else { break }
                    pending = await idleConnections.park(for: idleTimeout)
                }
                try? await outbound.write(ByteBuffer(string: "QUIT\r\n"))
            }
        } catch {
            pending?.finish(.failed(error))
        }
    }

    /// The transport failed before the smart host answered MAIL: it has not taken the message.
    struct BrokenBeforeMail: Error {
        let underlying: any Error
    }

    private static func command(_ line: String, expect: ClosedRange<Int>, step: String,
                                _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, _ replies: inout SMTPClientReplyReader) async throws -> SMTPReply {
        try await outbound.write(ByteBuffer(string: line + "\r\n"))
        let reply = try await replies.next()
        guard expect.contains(reply.code) else { throw Refusal(reply: reply, step: step) }
        return reply
    }

    /// MAIL, RCPT, DATA. Returns the outcomes, and whether the connection may carry another
    /// transaction (the smart host answered the end of the data).
    private static func transaction(_ request: SmartHostRequest, offersSize: Bool, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                                    _ replies: inout SMTPClientReplyReader) async throws -> (outcomes: [String: RecipientOutcome], reusable: Bool) {
        let sizeParameter = offersSize ? " SIZE=\(request.message.count)" : ""
        do {
            try await outbound.write(ByteBuffer(string: "MAIL FROM:<\(request.sender)>\(sizeParameter)\r\n"))
        } catch {
            throw BrokenBeforeMail(underlying: error)
        }
        let mailReply: SMTPReply
        do {
            mailReply = try await replies.next()
        } catch {
            throw BrokenBeforeMail(underlying: error)
        }
        // 421: the smart host is closing this connection (an idle one, say); the message was not taken.
        if mailReply.code == 421 { throw BrokenBeforeMail(underlying: Refusal(reply: mailReply, step: "MAIL FROM")) }
        guard (250...259).contains(mailReply.code) else { throw Refusal(reply: mailReply, step: "MAIL FROM") }
        var outcomes: [String: RecipientOutcome] = [:]
        var accepted: [String] = []
        for recipient in request.recipients {
            try await outbound.write(ByteBuffer(string: "RCPT TO:<\(recipient)>\r\n"))
            let reply = try await replies.next()
            switch reply.code {
            case 250...259: accepted.append(recipient)
            case 500...599: outcomes[recipient] = .permanentFailure(status: reply.enhancedStatusCode?.description ?? "5.1.1", reason: "RCPT TO: \(reply.code) \(reply.text)")
            default: outcomes[recipient] = .temporaryFailure(status: reply.enhancedStatusCode?.description ?? "4.0.0", reason: "RCPT TO: \(reply.code) \(reply.text)")
            }
        }
        // A transaction with no recipient stays open on the smart host's side: the connection ends.
        guard !accepted.isEmpty else { return (outcomes, false) }
        _ = try await command("DATA", expect: 354...354, step: "DATA", outbound, &replies)
        try await outbound.write(ByteBuffer(bytes: dotStuffed(request.message)))
        let final = try await replies.next()
        let outcome: RecipientOutcome
        switch final.code {
        case 250...259: outcome = .delivered
        case 500...599: outcome = .permanentFailure(status: final.enhancedStatusCode?.description ?? "5.0.0", reason: "end of data: \(final.code) \(final.text)")
        default: outcome = .temporaryFailure(status: final.enhancedStatusCode?.description ?? "4.0.0", reason: "end of data: \(final.code) \(final.text)")
        }
        for recipient in accepted { outcomes[recipient] = outcome }
        return (outcomes, final.code != 421)
    }

    /// The message as DATA carries it (RFC 5321 4.5.2): lines starting with "." get another, the
    /// last line ends in CRLF, then the `.` line.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(message.count + message.count / 64 + 5)
        var atLineStart = true
        for byte in message {
            if atLineStart && byte == UInt8(ascii: ".") { output.append(UInt8(ascii: ".")) }
            output.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
        }
        if !atLineStart { output.append(contentsOf: [13, 10]) }
        output.append(contentsOf: Array(".\r\n".utf8))
        return output
    }
}
