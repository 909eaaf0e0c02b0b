import Cluster
import IMAPGrammar
import Logging
import MailCore

/// One IMAP connection's session: the RFC 9051 state machine (not authenticated, authenticated,
/// selected, logout), driven by parsed input and by news from the cluster, one event at a time.
final class IMAPSession {
    enum State {
        case notAuthenticated
        case authenticated(Grant)
        case logout
    }

    /// What the next input is expected to be, besides a command.
    private enum Pending {
        case none
        case idle(tag: String, since: ContinuousClock.Instant, lastKeepalive: ContinuousClock.Instant)
        case authenticate(tag: String)
    }

    private let context: IMAPServerContext
    private let connection: IMAPConnection
    private let connectionID: String
    private var isTLS: Bool
    private var state: State = .notAuthenticated
    private var pending: Pending = .none
    private var encoder = ResponseEncoder()
    private var lastActivity = ContinuousClock.now
    private var logger: Logger
    private var slotRenewal: Task<Void, Never>?

    init(context: IMAPServerContext, connection: IMAPConnection, connectionID: String) {
        self.context = context
        self.connection = connection
        self.connectionID = connectionID
        isTLS = connection.isTLS
        var logger = context.logger
        logger[metadataKey: "imap.connection"] = "\(connectionID)"
        logger[metadataKey: "client"] = "\(connection.remoteAddress)"
        self.logger = logger
    }

    private var grant: Grant? {
        if case .authenticated(let grant) = state { return grant }
        return nil
    }

    private var capabilities: [String] { IMAPCapabilities.list(isTLS: isTLS, authenticated: grant != nil) }

    // MARK: - The loop

    func run(events: AsyncStream<SessionEvent>) async {
        let greeting = Response.untagged(.ok(ResponseText(code: .capability(capabilities), text: "\(context.hostname) IMAP service ready")))
        // Ask for input first: with implicit TLS the greeting cannot leave before the handshake,
        // and the handshake needs the socket to be read.
        connection.requestNext()
        guard (try? await connection.write(greeting, encoder: encoder)) != nil else {
            await end()
            return
        }
        for await event in events {
            let keepGoing: Bool
            do {
                keepGoing = try await handle(event)
            } catch {
                logger.debug("connection ended", metadata: ["error": "\(error)"])
                keepGoing = false
            }
            if !keepGoing { break }
        }
        await end()
    }

    private func end() async {
        slotRenewal?.cancel()
        if let grant {
            await context.slots.release(grant: grant.id, connection: connectionID)
        }
        if case .idle = pending { IMAPMetrics.idleSessions.decrement() }
        state = .logout
        await connection.close()
    }

    /// Returns false when the connection must end.
    private func handle(_ event: SessionEvent) async throws -> Bool {
        switch event {
        case .closed:
            return false
        case .tick:
            return try await checkTimers()
        case .mailboxChanged:
            return true
        case .shutdown:
            try await connection.write(.untagged(.bye(ResponseText(code: .unavailable, text: "This node is shutting down; reconnect"))), encoder: encoder)
            return false
        case .credentialsChanged:
            try await connection.write(.untagged(.bye(ResponseText(text: "Credentials changed; log in again"))), encoder: encoder)
            return false
        case .input(let result):
            lastActivity = .now
            return try await handleInput(result)
        }
    }

    private var parserMode: CommandParser.Mode {
        switch pending {
        case .none: .command
        case .idle: .idle
        case .authenticate: .authenticate
        }
    }

    private func checkTimers() async throws -> Bool {
        let now = ContinuousClock.now
        switch pending {
        case .idle(let tag, let since, let lastKeepalive):
            if now - since >= context.timers.maximumIDLE {
                // The seed: IDLE ends after 30 minutes with a response, and the client re-issues it.
                pending = .none
                IMAPMetrics.idleSessions.decrement()
                try await connection.write(.tagged(TaggedResponse(tag: tag, state: .ok, "IDLE terminated after 30 minutes; re-issue IDLE")), encoder: encoder)
                lastActivity = now
                // Still waiting for input in IDLE mode: a late DONE is taken and not answered.
                pending = .idle(tag: "*", since: now, lastKeepalive: now)
            } else if now - lastKeepalive >= context.timers.keepalive {
                try await connection.write(.untagged(.ok(ResponseText(text: "Still here"))), encoder: encoder)
                pending = .idle(tag: tag, since: since, lastKeepalive: now)
            }
            return true
        default:
            if now - lastActivity >= context.timers.idleOutsideIDLE {
                try await connection.write(.untagged(.bye(ResponseText(text: "Autologout; idle for too long"))), encoder: encoder)
                return false
            }
            return true
        }
    }

    // MARK: - Input

    /// Works out the answer to one input item, asks for the next item, then writes the answer.
    /// Asking first matters: a write can wait on a TLS handshake, which needs the socket read.
    private func handleInput(_ result: ParseResult) async throws -> Bool {
        let started = ContinuousClock.now
        let (responses, keepGoing, commandName) = await answer(result)
        if keepGoing { connection.requestNext(mode: parserMode) }
        if !responses.isEmpty { try await connection.write(responses, encoder: encoder) }
        if let commandName {
            IMAPMetrics.command(commandName, outcome: responses.last.map(Self.outcome) ?? "none", duration: .now - started)
        }
        return keepGoing
    }

    private func answer(_ result: ParseResult) async -> ([Response], Bool, String?) {
        switch result {
        case .command(let command):
            let (responses, keepGoing) = await execute(command)
            return (responses, keepGoing, command.command.name)
        case .error(let error):
            return (error.responses, !error.closeConnection, "INVALID")
        case .idleDone:
            guard case .idle(let tag, _, _) = pending else { return ([], true, nil) }
            pending = .none
            IMAPMetrics.idleSessions.decrement()
            // After a server-ended IDLE the client's late DONE needs no answer.
            return (tag == "*" ? [] : [.tagged(TaggedResponse(tag: tag, state: .ok, "IDLE terminated"))], true, nil)
        case .authenticationResponse(let response):
            guard case .authenticate(let tag) = pending else { return ([], true, nil) }
            pending = .none
            switch response {
            case .cancel:
                return ([.tagged(TaggedResponse(tag: tag, state: .bad, "AUTHENTICATE cancelled"))], true, "AUTHENTICATE")
            case .data(let bytes):
                return ([await authenticatePlain(tag: tag, bytes)], true, "AUTHENTICATE")
            }
        case .appendStart(let tag, _):
            // Mail store operations arrive with the mail store; the literal is refused unread.
            guard await connection.rejectPendingLiteral() else { return ([], false, "APPEND") }
            return ([.tagged(TaggedResponse(tag: tag, state: .no, code: .cannot, "APPEND is not available yet"))], true, "APPEND")
        case .appendBeginMessage, .appendData, .appendEndMessage, .appendFinish, .needsContinuation, .needsMoreData:
            return ([], true, nil)
        }
    }

    private static func outcome(_ response: Response) -> String {
        if case .tagged(let tagged) = response { return tagged.state.rawValue.lowercased() }
        return "bye"
    }

    // MARK: - Commands

    private func execute(_ tagged: TaggedCommand) async -> ([Response], Bool) {
        let tag = tagged.tag
        func ok(_ text: String, code: ResponseCode? = nil) -> Response { .tagged(TaggedResponse(tag: tag, state: .ok, code: code, text)) }
        func no(_ text: String, code: ResponseCode? = nil) -> Response { .tagged(TaggedResponse(tag: tag, state: .no, code: code, text)) }
        func bad(_ text: String) -> Response { .tagged(TaggedResponse(tag: tag, state: .bad, text)) }

        switch tagged.command {
        case .capability:
            return ([.untagged(.capability(capabilities)), ok("CAPABILITY completed")], true)
        case .noop:
            return ([ok("NOOP completed")], true)
        case .logout:
            return ([.untagged(.bye(ResponseText(text: "\(context.hostname) logging out"))), ok("LOGOUT completed")], false)
        case .id:
            let fields = [IDField("name", "mailnode"), IDField("vendor", "mailnode"), IDField("support-url", "https://\(context.hostname)")]
            return ([.untagged(.id(fields)), ok("ID completed")], true)
        case .startTLS:
            guard !isTLS else { return ([bad("TLS is already active")], true) }
            guard grant == nil else { return ([bad("STARTTLS is only allowed before login")], true) }
            do {
                try await connection.startTLS(ok: ok("Begin TLS negotiation now"), encoder: encoder, context: context.tls)
                isTLS = true
                return ([], true)
            } catch {
                return ([], false)
            }
        case .login(let username, let password):
            guard grant == nil else { return ([bad("Already authenticated")], true) }
            guard isTLS else { return ([no("LOGIN is disabled before STARTTLS", code: .privacyRequired)], true) }
            return ([await login(tag: tag, account: username, password: password)], true)
        case .authenticate(let mechanism, let initialResponse):
            guard grant == nil else { return ([bad("Already authenticated")], true) }
            guard mechanism.uppercased() == "PLAIN" else { return ([no("Unsupported authentication mechanism", code: .cannot)], true) }
            guard isTLS else { return ([no("Authentication is disabled before STARTTLS", code: .privacyRequired)], true) }
            switch initialResponse {
            case .some(.data(let bytes)):
                return ([await authenticatePlain(tag: tag, bytes)], true)
            case .some(.empty):
                return ([await authenticatePlain(tag: tag, [])], true)
            case .none:
                pending = .authenticate(tag: tag)
                return ([.continuation(.challenge([]))], true)
            }
        case .enable(let names):
            guard grant != nil else { return ([bad("ENABLE requires authentication")], true) }
            // Nothing optional is implemented yet: per RFC 5161 the answer lists what was enabled.
            _ = names
            return ([.untagged(.enabled([])), ok("ENABLE completed")], true)
        case .namespace:
            guard grant != nil else { return ([bad("NAMESPACE requires authentication")], true) }
            return ([.untagged(.namespace(personal: [NamespaceDescription(prefix: "", delimiter: "/")], otherUsers: [], shared: [])),
                     ok("NAMESPACE completed")], true)
        case .idle:
            guard grant != nil else { return ([bad("IDLE requires authentication")], true) }
            let now = ContinuousClock.now
            pending = .idle(tag: tag, since: now, lastKeepalive: now)
            IMAPMetrics.idleSessions.increment()
            return ([.continuation(.text(ResponseText(text: "idling")))], true)
        default:
            guard grant != nil else { return ([bad("\(tagged.command.name) requires authentication")], true) }
            return ([no("\(tagged.command.name) is not available yet", code: .cannot)], true)
        }
    }

    /// RFC 4616: `[authzid] NUL authcid NUL passwd`.
    private func authenticatePlain(tag: String, _ bytes: [UInt8]) async -> Response {
        let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            return .tagged(TaggedResponse(tag: tag, state: .bad, "Malformed PLAIN response"))
        }
        let authorizationID = String(decoding: parts[0], as: UTF8.self)
        let account = String(decoding: parts[1], as: UTF8.self)
        let password = String(decoding: parts[2], as: UTF8.self)
        if !authorizationID.isEmpty && authorizationID.lowercased() != account.lowercased() {
            return .tagged(TaggedResponse(tag: tag, state: .no, code: .authorizationFailed, "Cannot act as another user"))
        }
        return await login(tag: tag, account: account, password: password)
    }

    private func login(tag: String, account: String, password: String) async -> Response {
        let outcome = await IMAPAuthenticator(context: context).authenticate(account: account, password: password, from: connection.remoteAddress)
        switch outcome {
        case .failure:
            logger.notice("IMAP login failed", metadata: ["account": "\(account)"])
            return .tagged(TaggedResponse(tag: tag, state: .no, code: .authenticationFailed, "Authentication failed"))
        case .unavailable:
            return .tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable, "Authentication is temporarily unavailable; try again"))
        case .elsewhere(let home):
            return .tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable, "This account is served in region \(home); try again shortly"))
        case .success(let grant):
            switch await context.slots.acquire(grant: grant.id, connection: connectionID) {
            case .full:
                IMAPMetrics.limitRefusal("imap_connections_per_grant")
                return .tagged(TaggedResponse(tag: tag, state: .no, code: .limit,
                                              "Too many connections for this account (at most \(context.slots.limit))"))
            case .acquired, .unchecked:
                break
            }
            state = .authenticated(grant)
            logger[metadataKey: "grant_id"] = "\(grant.id)"
            logger.info("IMAP login")
            let slots = context.slots, connectionID = self.connectionID
            slotRenewal = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: ConnectionSlots.renewInterval)
                    if Task.isCancelled { break }
                    await slots.renew(grant: grant.id, connection: connectionID)
                }
            }
            return .tagged(TaggedResponse(tag: tag, state: .ok, code: .capability(capabilities), "Logged in"))
        }
    }
}
