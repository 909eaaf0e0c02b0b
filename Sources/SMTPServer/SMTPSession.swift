import Foundation
import Logging
import MIME
import MailCore
import Storage
import NIOCore
import SMTPGrammar

/// One SMTP conversation (RFC 5321) on a submission or inbound listener, driven by one task:
/// read a command, answer it, repeat. Replies are written in command order, so pipelined
/// commands (RFC 2920) are answered in order.
final class SMTPSession {
    struct Transaction {
        var sender: String
        /// RFC 6531: the client asked for SMTPUTF8, so non-ASCII addresses are allowed.
        var smtpUTF8: Bool
        /// `SIZE=` of MAIL FROM (RFC 1870).
        var declaredSize: Int? = nil
        var recipients: [EmailAddress] = []
        /// Inbound: each recipient's home.
        var routes: [EmailAddress: GrantRoute] = [:]
        /// BDAT chunks so far (RFC 3030).
        var chunks: [UInt8]?
        var chunksTooLarge = false
    }

    let context: SMTPServerContext
    let connection: SMTPConnection
    let kind: SMTPListener.Kind
    let id: String
    var logger: Logger
    private let parser: SMTPCommandParser
    private let writer = SMTPReplyWriter()
    private var isTLS: Bool
    private var helo: String?
    private var usedEHLO = false
    private var grant: Grant?
    private var home: SMTPServerContext.RegionMail?
    /// Set while a grant of this region is logged in and the region's events are heard.
    private var credentialsWatch: CredentialsWatch?
    private var transaction: Transaction?
    private var errors = 0
    private var commands = 0
    private var lastActivity = ContinuousClock.now
    private let started = ContinuousClock.now
    private var isShuttingDown = false
    private var clientAddress: String
    private var events: AsyncStream<SMTPSessionEvent>.AsyncIterator?
    private var bdatDecoder: BDATDecoder
    /// The first read was asked for before the greeting.
    private var alreadyRequested = false

    init(context: SMTPServerContext, connection: SMTPConnection, kind: SMTPListener.Kind, id: String) {
        self.context = context
        self.connection = connection
        self.kind = kind
        self.id = id
        isTLS = connection.isTLS
        clientAddress = connection.remoteAddress
        parser = SMTPCommandParser(limits: context.grammarLimits)
        bdatDecoder = BDATDecoder(limits: context.grammarLimits)
        logger = context.logger
        logger[metadataKey: "session"] = "\(id)"
        logger[metadataKey: "client"] = "\(connection.remoteAddress)"
    }

    private enum Ending: Error {
        /// The client closed, or we did after a final reply.
        case closed
    }

    func run(events stream: AsyncStream<SMTPSessionEvent>) async {
        events = stream.makeAsyncIterator()
        do {
            // Ask for input first: with implicit TLS the greeting cannot leave before the
            // handshake, and the handshake needs the socket to be read.
            connection.requestNext(.line(.command))
            alreadyRequested = true
            try await reply(220, nil, "\(context.hostname) ESMTP mailnode ready")
            while true {
                let input = try await nextInput(.line(.command), waitingForCommand: true)
                switch input {
                case .line(let bytes):
                    commands += 1
                    guard commands <= context.limits.maximumCommands else {
                        try await reply(421, "4.7.0", "\(context.hostname) too many commands in one session; closing")
                        throw Ending.closed
                    }
                    try await handle(bytes)
                case .lineTooLong:
                    try await send(.lineTooLong, counts: true)
                case .bytes, .closed:
                    throw Ending.closed
                }
            }
        } catch {
            // Ending.closed, a write to a closed socket, a timeout reply already sent: the session is over.
        }
        if transaction != nil, transaction?.chunks != nil {
            SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "aborted", bytes: transaction?.chunks?.count ?? 0)
        }
        credentialsWatch?.stop()
        await connection.close()
    }

    // MARK: - Input

    /// The next item from the client; on timeout or shutdown answers 421 and ends the session.
    private func nextInput(_ request: SMTPChannelHandler.Request, waitingForCommand: Bool) async throws -> SMTPInput {
        if waitingForCommand && isShuttingDown {
            // The drain began during a transaction, which is now over.
            try? await reply(421, "4.3.2", "\(context.hostname) shutting down; try again on another server")
            throw Ending.closed
        }
        if !alreadyRequested { connection.requestNext(request) }
        alreadyRequested = false
        let timeout = waitingForCommand ? context.limits.commandTimeout : context.limits.dataTimeout
        while let event = await events?.next() {
            switch event {
            case .input(let input):
                lastActivity = .now
                return input
            case .tick:
                if ContinuousClock.now - lastActivity > timeout || ContinuousClock.now - started > context.limits.sessionTimeout {
                    try? await reply(421, "4.4.2", "\(context.hostname) timeout exceeded; closing")
                    throw Ending.closed
                }
            case .shutdown:
                isShuttingDown = true
                if waitingForCommand {
                    try? await reply(421, "4.3.2", "\(context.hostname) shutting down; try again on another server")
                    throw Ending.closed
                }
            }
        }
        throw Ending.closed
    }

    // MARK: - Commands

    private func handle(_ line: [UInt8]) async throws {
        let command: SMTPCommand
        do {
            command = try parser.parse(line)
        } catch {
            lastVerb = "invalid"
            try await send(error.reply, counts: true)
            if error.closesConnection { throw Ending.closed }
            return
        }
        lastVerb = command.verb
        if kind == .submission && !isTLS {
            switch command {
            case .ehlo, .helo, .startTLS, .noop, .rset, .quit: break
            case .bdat:
                // Its chunk follows unasked; without reading it there is no telling where the
                // next command starts.
                try await reply(530, "5.7.0", "Must issue a STARTTLS command first")
                throw Ending.closed
            default:
                try await refuse(530, "5.7.0", "Must issue a STARTTLS command first")
                return
            }
        }
        switch command {
        case .ehlo(let domain):
            resetTransaction()
            helo = domain
            usedEHLO = true
            try await replyLines(250, nil, ["\(context.hostname) greets \(domain)"] + extensions())
        case .helo(let domain):
            resetTransaction()
            helo = domain
            usedEHLO = false
            try await reply(250, nil, "\(context.hostname)")
        case .startTLS:
            try await startTLS()
        case .auth(let mechanism, let initialResponse):
            try await authenticate(mechanism: mechanism, initialResponse: initialResponse)
        case .mailFrom(let path, let parameters):
            try await mailFrom(path, parameters)
        case .rcptTo(let path, let parameters):
            if let unknown = parameters.unrecognized.first {
                try await send(.unrecognizedParameter(unknown.keyword), counts: true)
            } else {
                try await rcptTo(path)
            }
        case .data:
            try await data()
        case .bdat(let size, let last):
            try await bdat(size: size, last: last)
        case .rset:
            resetTransaction()
            try await reply(250, "2.0.0", "OK")
        case .noop:
            try await reply(250, "2.0.0", "OK")
        case .quit:
            try await reply(221, "2.0.0", "\(context.hostname) closing connection")
            throw Ending.closed
        case .vrfy:
            try await reply(252, "2.5.0", "Cannot VRFY user, but will accept the message and attempt delivery")
        case .expn:
            try await refuse(502, "5.5.1", "EXPN is not supported")
        case .help:
            try await reply(214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS AUTH")
        }
    }

    private func extensions() -> [String] {
        var lines = ["SIZE \(context.limits.messageSizeBytes)", "PIPELINING", "ENHANCEDSTATUSCODES"]
        if kind == .submission && !isTLS { return lines + ["STARTTLS"] }
        lines += ["8BITMIME", "SMTPUTF8", "CHUNKING"]
        if !isTLS { lines.append("STARTTLS") }
        if kind.isSubmission && grant == nil { lines.append("AUTH PLAIN LOGIN") }
        return lines
    }

    private func startTLS() async throws {
        guard !isTLS else {
            try await refuse(503, "5.5.1", "TLS is already active")
            return
        }
        try await connection.startTLS(reply: writer.encode(SMTPReply(code: 220, enhancedStatusCode: .init(2, 0, 0), "Ready to start TLS")),
                                      context: context.tls)
        // RFC 3207 4.2: everything learned before TLS is forgotten.
        isTLS = true
        helo = nil
        usedEHLO = false
        grant = nil
        home = nil
        credentialsWatch?.stop()
        credentialsWatch = nil
        resetTransaction()
        SMTPMetrics.command("STARTTLS", outcome: "2xx")
    }

    /// Forgets the mail transaction, BDAT chunks included.
    private func resetTransaction() {
        transaction = nil
        bdatDecoder.reset()
    }

    // MARK: - AUTH (RFC 4954)

    private func authenticate(mechanism: String, initialResponse: SASL.InitialResponse?) async throws {
        guard kind.isSubmission else {
            try await refuse(502, "5.5.1", "AUTH is not available on this port; use the submission port")
            return
        }
        guard helo != nil, usedEHLO else {
            try await refuse(503, "5.5.1", "Send EHLO first")
            return
        }
        guard grant == nil else {
            try await refuse(503, "5.5.1", "Already authenticated")
            return
        }
        guard transaction == nil else {
            try await refuse(503, "5.5.1", "AUTH is not allowed during a mail transaction")
            return
        }
        guard let credentials = try await credentials(mechanism: mechanism, initialResponse: initialResponse) else { return }
        switch await SMTPAuthenticator(context: context).authenticate(account: credentials.username, password: credentials.password,
                                                                         from: clientAddress) {
        case .success(let grant, let home):
            self.grant = grant
            self.home = home
            if grant.region == context.region, let events = context.events {
                credentialsWatch = CredentialsWatch(events: events, grant: grant.id)
            }
            logger[metadataKey: "grant_id"] = "\(grant.id)"
            try await reply(235, "2.7.0", "Authentication successful")
        case .failure:
            try await refuse(535, "5.7.8", "Authentication credentials invalid")
        case .unavailable:
            try await refuse(454, "4.7.0", "Temporary authentication failure; try again later")
        }
    }

    /// Runs the SASL exchange of `mechanism`; nil when it failed (and was answered).
    private func credentials(mechanism: String, initialResponse: SASL.InitialResponse?) async throws -> SASL.Credentials? {
        switch mechanism {
        case "PLAIN":
            var message = initialResponse?.bytes
            if initialResponse == nil {
                message = try await saslResponse(to: SMTPReply(code: 334, ""))
                if message == nil { return nil }
            }
            do {
                return try SASL.Credentials(plainMessage: message ?? [])
            } catch {
                try await send(error.reply, counts: true)
                return nil
            }
        case "LOGIN":
            var exchange = SASL.LoginExchange()
            var action = exchange.start(initialResponse: initialResponse)
            while case .sendChallenge(let challenge) = action {
                try await send(challenge)
                let input = try await nextInput(.line(.saslResponse), waitingForCommand: false)
                if case .lineTooLong = input {
                    try await send(.lineTooLong, counts: true)
                    return nil
                }
                guard case .line(let line) = input else { throw Ending.closed }
                action = exchange.receive(line)
            }
            if case .authenticate(let given) = action { return given }
            if case .fail(let error) = action { try await send(error.reply, counts: true) }
            return nil
        default:
            try await refuse(504, "5.5.4", "Unrecognized authentication mechanism; use PLAIN or LOGIN")
            return nil
        }
    }

    /// Sends a 334 challenge and reads the base64 answer; nil when the client cancelled with `*`
    /// or sent something that is not base64 (both answered).
    private func saslResponse(to challenge: SMTPReply) async throws -> [UInt8]? {
        try await send(challenge)
        let input = try await nextInput(.line(.saslResponse), waitingForCommand: false)
        guard case .line(let line) = input else {
            if case .lineTooLong = input {
                try await send(.lineTooLong, counts: true)
                return nil
            }
            throw Ending.closed
        }
        let response: SASL.ClientResponse
        do {
            response = try SASL.ClientResponse(line: line)
        } catch {
            try await send(error.reply, counts: true)
            return nil
        }
        switch response {
        case .data(let bytes): return bytes
        case .cancel:
            try await send(SASLError(.cancelled, "client cancelled").reply, counts: true)
            return nil
        }
    }

    // MARK: - Transaction

    private func mailFrom(_ path: SMTPPath?, _ parameters: MailParameters) async throws {
        if let unknown = parameters.unrecognized.first {
            try await send(.unrecognizedParameter(unknown.keyword), counts: true)
            return
        }
        guard helo != nil else {
            try await refuse(503, "5.5.1", "Send EHLO or HELO first")
            return
        }
        guard transaction == nil else {
            try await refuse(503, "5.5.1", "Nested MAIL command")
            return
        }
        if kind.isSubmission && grant == nil {
            try await refuse(530, "5.7.0", "Authentication required")
            return
        }
        // While the store is found unreachable, the grant is read as before: MAIL FROM is then
        // refused at once (451) rather than after the message's data.
        if let credentialsWatch, credentialsWatch.hearsChanges, home?.store.lastCallFoundStoreUnreachable == false {
            // A password change ends the grant's sessions (the design's rotation rule). The
            // submission's commit checks the version too, should the event still be on its way.
            guard !credentialsWatch.credentialsChanged else {
                try await reply(421, "4.7.0", "\(context.hostname) credentials changed; log in again")
                throw Ending.closed
            }
        } else if let grant, let home {
            // A password change ends the grant's sessions (the design's rotation rule).
            let current: Grant?
            do {
                current = try await home.grants.grant(id: grant.id)
            } catch {
                // The store cannot say: neither a refusal of the sender nor of the credentials.
                logger.warning("cannot recheck the session's credentials", metadata: ["error": "\(error)"])
                try await refuse(451, "4.3.0", "Local error in processing; try again later")
                return
            }
            guard let current, current.credentialsVersion == grant.credentialsVersion else {
                try await reply(421, "4.7.0", "\(context.hostname) credentials changed; log in again")
                throw Ending.closed
            }
        }
        if let size = parameters.size, size > context.limits.messageSizeBytes {
            SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "size", bytes: 0)
            try await refuse(552, "5.3.4", "Message size exceeds fixed maximum message size of \(context.limits.messageSizeBytes) bytes")
            return
        }
        let sender = path?.address?.description ?? ""
        if let grant {
            guard let address = EmailAddress(sender), address == grant.email else {
                SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "sender", bytes: 0)
                try await refuse(553, "5.7.1", "Sender address rejected: not owned by the authenticated user \(grant.email.address)")
                return
            }
        }
        transaction = Transaction(sender: sender, smtpUTF8: parameters.smtpUTF8, declaredSize: parameters.size)
        try await reply(250, "2.1.0", "Sender OK")
    }

    private func rcptTo(_ path: SMTPPath) async throws {
        guard var transaction else {
            try await refuse(503, "5.5.1", "Need MAIL before RCPT")
            return
        }
        guard transaction.recipients.count < context.limits.maximumRecipients else {
            // Not a client error: RFC 5321 4.5.3.1.10 has the client send the rest in another transaction.
            try await reply(452, "4.5.3", "Too many recipients (at most \(context.limits.maximumRecipients) per message)")
            return
        }
        if path.needsSMTPUTF8 && !transaction.smtpUTF8 {
            try await send(.nonASCIIRecipientNotPermitted, counts: true)
            return
        }
        guard let address = path.address.flatMap({ EmailAddress($0.description) }) else {
            SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "recipient", bytes: 0)
            try await refuse(550, "5.1.1", "Recipient address rejected: no mailbox here by that name")
            return
        }
        if kind == .inbound {
            let route: GrantRoute?
            do {
                route = try await context.router.route(forEmail: address)
            } catch {
                try await refuse(451, "4.4.3", "Recipient lookup failed; try again later")
                return
            }
            guard let route, let home = context.regions[route.region] else {
                SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "recipient", bytes: 0)
                try await refuse(550, "5.1.1", "Recipient address rejected: no mailbox here by that name")
                return
            }
            // The recipient's rules may refuse the sender outright, its day's count may be used up,
            // and its mailbox may be full (with SIZE=, too full for the message).
            let delivery = LocalDelivery(context: context)
            switch await delivery.arrival(home).screen(grant: route.grantID, sender: transaction.sender, size: transaction.declaredSize) {
            case .accepted:
                break
            case .blocked(let outcome, let input):
                // The record does not hold up the answer (it may go to another region).
                let grant = route.grantID, region = route.region
                Task { await delivery.record(outcome, input, grant: grant, messageID: nil, stage: .smtpRcpt, folderIDs: [], region: region) }
                SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "rule", bytes: 0)
                try await refuse(550, "5.7.1", "Recipient address rejected: the recipient's policy refuses mail from this sender")
                return
            case .dailyLimit(let limit):
                SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "daily_limit", bytes: 0)
                try await refuse(452, "4.2.2", "Recipient has received its \(limit) messages for today; try again after 00:00 UTC")
                return
            case .mailboxFull:
                SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "quota", bytes: 0)
                try await refuse(452, "4.2.2", "Mailbox full; try again later")
                return
            case .unavailable:
                try await refuse(451, "4.3.0", "The recipient's rules could not be evaluated; try again later")
                return
            }
            transaction.routes[address] = route
        }
        if !transaction.recipients.contains(address) { transaction.recipients.append(address) }
        self.transaction = transaction
        try await reply(250, "2.1.5", "Recipient OK")
    }

    private func data() async throws {
        guard let transaction else {
            try await refuse(503, "5.5.1", "Need MAIL before DATA")
            return
        }
        guard transaction.chunks == nil else {
            try await refuse(503, "5.5.1", "DATA cannot follow BDAT in one transaction")
            return
        }
        guard !transaction.recipients.isEmpty else {
            try await refuse(554, "5.5.1", "No valid recipients")
            return
        }
        try await reply(354, nil, "Start mail input; end with <CRLF>.<CRLF>")
        var decoder = SMTPDataDecoder(limits: context.grammarLimits)
        var message: [UInt8] = []
        var summary: SMTPMessageSummary?
        while summary == nil {
            guard case .bytes(var chunk) = try await nextInput(.bytes(maximum: 64 * 1024), waitingForCommand: false) else {
                // The client went away mid-DATA: nothing was stored.
                SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "aborted", bytes: message.count)
                self.transaction = nil
                throw Ending.closed
            }
            decoding: while true {
                switch decoder.next(&chunk) {
                case .content(let content): message.append(contentsOf: content.readableBytesView)
                case .needsMoreData: break decoding
                case .end(let end):
                    summary = end
                    // Commands pipelined after the end of the data go back to the reader.
                    if chunk.readableBytes > 0 { await connection.pushBack(chunk) }
                    break decoding
                }
            }
        }
        if let summary, summary.exceedsMaximumSize {
            self.transaction = nil
            SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "size", bytes: summary.byteCount)
            try await refuse(552, "5.3.4", "Message size exceeds fixed maximum message size of \(context.limits.messageSizeBytes) bytes")
            return
        }
        try await finish(message, transaction)
    }

    private func bdat(size: Int, last: Bool) async throws {
        // The chunk is read in full whatever becomes of it (RFC 3030 2: its octets are not commands).
        bdatDecoder.beginChunk(size: size, last: last)
        var received: [UInt8] = []
        var summary: SMTPMessageSummary?
        // Ask the decoder first: a chunk of 0 octets (`BDAT 0 LAST`) is complete without any input.
        var chunk = ByteBuffer()
        reading: while true {
            switch bdatDecoder.next(&chunk) {
            case .content(let content):
                received.append(contentsOf: content.readableBytesView)
            case .chunkEnd(_, let end):
                summary = end
                if chunk.readableBytes > 0 { await connection.pushBack(chunk) }
                break reading
            case .needsMoreData:
                guard case .bytes(let more) = try await nextInput(.bytes(maximum: 64 * 1024), waitingForCommand: false) else {
                    SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "aborted", bytes: (transaction?.chunks?.count ?? 0) + received.count)
                    transaction = nil
                    throw Ending.closed
                }
                chunk = more
            }
        }
        guard var transaction else {
            bdatDecoder.reset()
            try await refuse(503, "5.5.1", "Need MAIL before BDAT")
            return
        }
        guard !transaction.recipients.isEmpty else {
            bdatDecoder.reset()
            try await refuse(554, "5.5.1", "No valid recipients")
            return
        }
        let tooLarge = summary?.exceedsMaximumSize ?? false
        transaction.chunksTooLarge = transaction.chunksTooLarge || tooLarge
        self.transaction = nil  // keeps the chunks uniquely referenced while they grow
        if transaction.chunks == nil { transaction.chunks = [] }
        if !transaction.chunksTooLarge { transaction.chunks!.append(contentsOf: received) }
        self.transaction = transaction
        guard last else {
            try await reply(250, "2.0.0", "\(size) octets received")
            return
        }
        bdatDecoder.reset()
        if transaction.chunksTooLarge {
            self.transaction = nil
            SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "size", bytes: summary?.byteCount ?? 0)
            try await refuse(552, "5.3.4", "Message size exceeds fixed maximum message size of \(context.limits.messageSizeBytes) bytes")
            return
        }
        try await finish(transaction.chunks ?? [], transaction)
    }

    /// The message is complete: store it (inbound) or submit it (submission), then answer.
    private func finish(_ message: [UInt8], _ transaction: Transaction) async throws {
        self.transaction = nil
        if let grant, let home {
            try await submit(message, transaction, grant: grant, home: home)
        } else {
            try await deliverInbound(message, transaction)
        }
    }

    private func submit(_ message: [UInt8], _ transaction: Transaction, grant: Grant, home: SMTPServerContext.RegionMail) async throws {
        let envelope = SubmissionEnvelope(mailFrom: transaction.sender, recipients: transaction.recipients)
        let outcome: SubmissionOutcome
        if grant.region == context.region {
            outcome = await SubmissionIntake.submit(message, grant: grant, envelope: envelope, store: home.store, rules: context.rules,
                                                    logger: logger)
        } else if let handoff = context.handoff {
            // Each region owns its data: a node of the grant's region stores and queues it.
            outcome = await handoff.submit(message, from: grant.id, envelope: envelope, in: grant.region)
        } else {
            outcome = .refused(code: 451, status: "4.4.3", text: "The account's region \(grant.region) cannot be reached; try again")
        }
        switch outcome {
        case .queued(let messageID):
            SMTPMetrics.messageAccepted(listener: kind.rawValue, bytes: message.count)
            logger.info("message submitted", metadata: ["message_id": "\(messageID)", "recipients": "\(transaction.recipients.count)",
                                                        "region": "\(grant.region)"])
            try await reply(250, "2.0.0", "OK: queued as \(messageID)")
        case .refused(421, let status, let text):
            SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "credentials", bytes: message.count)
            try await reply(421, status, "\(context.hostname) \(text)")
            throw Ending.closed
        case .refused(let code, let status, let text):
            let reason = switch code {
            case 550: status == "5.5.3" ? "recipients" : text.hasPrefix("Daily sending limit") ? "daily_limit" : "rule"
            case 553: "sender"
            case 552: "quota"
            default: "error"
            }
            SMTPMetrics.messageRefused(listener: kind.rawValue, reason: reason, bytes: message.count)
            try await refuse(code, status, text)
        }
    }

    private func deliverInbound(_ message: [UInt8], _ transaction: Transaction) async throws {
        // Quota first, for every recipient: either all of them get the message or none does.
        let delivery = LocalDelivery(context: context)
        for (_, route) in transaction.routes {
            guard let home = context.regions[route.region] else { continue }
            if await !delivery.arrival(home).fits(message.count, in: route.grantID) {
                SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "quota", bytes: message.count)
                // One recipient: it will not fit (552, RFC 5321 4.5.3.1.10's insufficient storage).
                // Several: a temporary 452 lets the sender retry; RCPT with SIZE= then refuses just that one.
                if transaction.routes.count == 1 {
                    try await refuse(552, "5.2.2", "Mailbox full: the message does not fit in the recipient's quota")
                } else {
                    try await refuse(452, "4.2.2", "Mailbox full for a recipient; try again later")
                }
                return
            }
        }
        let trace = LocalDelivery.Trace(returnPath: transaction.sender, helo: helo ?? "unknown", clientAddress: clientAddress,
                                        protocolName: (usedEHLO ? "ESMTP" : "SMTP") + (isTLS ? "S" : ""), id: ObjectIDGenerator.random().prefix(16).description,
                                        checkedClient: clientAddress)
        let outcomes = await LocalDelivery(context: context).deliver(message, to: transaction.recipients, trace: trace)
        if outcomes.values.allSatisfy({ $0 == .delivered }) {
            SMTPMetrics.messageAccepted(listener: kind.rawValue, bytes: message.count)
            try await reply(250, "2.0.0", "OK: delivered to \(outcomes.count) recipient\(outcomes.count == 1 ? "" : "s")")
            return
        }
        SMTPMetrics.messageRefused(listener: kind.rawValue, reason: "error", bytes: message.count)
        if !outcomes.values.contains(.delivered), outcomes.values.allSatisfy(\.isFinal) {
            // Every recipient refused it for one reason (its policy's limits, a rule changed since
            // RCPT TO): say which.
            let refusals = outcomes.values.compactMap { outcome -> (String, String)? in
                if case .permanentFailure(let status, let reason) = outcome { return (status, reason) }
                return nil
            }
            if refusals.count == outcomes.count, let (status, reason) = refusals.first, refusals.allSatisfy({ $0.0 == status }),
               ["5.7.1", "5.3.4", "5.2.2"].contains(status) {
                try await refuse(status == "5.7.1" ? 550 : 552, status, "Refused: \(reason)")
                return
            }
            try await refuse(554, "5.0.0", "Transaction failed: the message could not be stored")
        } else if !outcomes.values.contains(.delivered), let (status, reason) = Self.sharedTemporaryFailure(outcomes.values),
                  status == "4.2.2" {
            // Every recipient's day is used up (or its mailbox full for now): say so, the sender retries.
            try await refuse(452, status, "Try again later: \(reason)")
        } else {
            // Some recipients may have it: a retry stores it for the others (the ones that have it
            // deduplicate it by its Message-ID).
            try await refuse(451, "4.3.0", "Local error in processing; try again later")
        }
    }

    /// The status and reason every outcome shares when all are the same temporary failure.
    static func sharedTemporaryFailure(_ outcomes: some Collection<RecipientOutcome>) -> (String, String)? {
        var shared: (String, String)?
        for outcome in outcomes {
            guard case .temporaryFailure(let status, let reason) = outcome, shared == nil || shared?.0 == status else { return nil }
            shared = shared ?? (status, reason)
        }
        return shared
    }

    // MARK: - Replies

    private func reply(_ code: Int, _ enhanced: String?, _ text: String) async throws {
        try await replyLines(code, enhanced, [text])
    }

    private func replyLines(_ code: Int, _ enhanced: String?, _ lines: [String]) async throws {
        try await send(SMTPReply(code: code, enhancedStatusCode: enhanced.flatMap { SMTPEnhancedStatusCode($0) }, lines: lines))
    }

    /// Writes a reply; `counts` makes a 4xx/5xx count towards the error limit.
    private func send(_ reply: SMTPReply, counts: Bool = false) async throws {
        SMTPMetrics.command(lastVerb, outcome: "\(reply.code / 100)xx")
        try await connection.write(writer.encode(reply))
        if counts && reply.code >= 400 {
            errors += 1
            if errors >= context.limits.maximumErrors {
                try? await connection.write(writer.encode(SMTPReply(code: 421, enhancedStatusCode: .init(4, 7, 0),
                                                                    "\(context.hostname) too many errors; closing connection")))
                throw Ending.closed
            }
        }
    }

    /// A 4xx/5xx reply that counts towards the error limit.
    private func refuse(_ code: Int, _ enhanced: String?, _ text: String) async throws {
        try await send(SMTPReply(code: code, enhancedStatusCode: enhanced.flatMap { SMTPEnhancedStatusCode($0) }, text), counts: true)
    }

    private var lastVerb = "unknown"
}
