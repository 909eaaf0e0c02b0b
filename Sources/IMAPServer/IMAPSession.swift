import Cluster
import IMAPGrammar
import Logging
import MIME
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

    let context: IMAPServerContext
    private let connection: IMAPConnection
    private let eventSink: AsyncStream<SessionEvent>.Continuation
    private var listenerToken: Int?
    /// Set once the connection is relayed to the grant's home region.
    private var handedOff = false
    /// The server ended an IDLE: the client's DONE may still be on its way.
    private var lateDoneExpected = false
    private var lastPoll: ContinuousClock.Instant
    /// Set when the grant's credentials changed after this session logged in.
    private var credentialsRevoked = false
    private var lastCredentialsCheck: ContinuousClock.Instant
    /// The mailbox of the selected state, nil otherwise.
    var selected: SelectedMailbox? {
        didSet { if selected?.folder.id != oldValue?.folder.id { selectedMailboxChanged = false } }
    }
    /// An announcement said the selected mailbox changed after the session last read its changes.
    /// While the change bus is healthy, reading them can wait for that.
    var selectedMailboxChanged = false
    /// An APPEND being received: its target, the message so far, and the results of earlier
    /// messages of the same command (MULTIAPPEND).
    private var append: PendingAppend?
    private let connectionID: String
    private var isTLS: Bool
    private var state: State = .notAuthenticated
    private var pending: Pending = .none
    private var encoder = ResponseEncoder()
    /// The client enabled IMAP4rev2 (RFC 9051): no `\Recent`, SEARCH answers in ESEARCH form, and
    /// mailbox names in UTF-8 both ways (RFC 9051 5.1, appendix E).
    private(set) var imap4rev2 = false
    private var lastActivity: ContinuousClock.Instant
    private var logger: Logger
    /// When this session last extended its connection slot (see `ConnectionSlots`).
    private var lastSlotRenewal: ContinuousClock.Instant

    init(context: IMAPServerContext, connection: IMAPConnection, connectionID: String, eventSink: AsyncStream<SessionEvent>.Continuation) {
        self.context = context
        self.connection = connection
        self.eventSink = eventSink
        self.connectionID = connectionID
        isTLS = connection.isTLS
        let now = context.clock.now()
        lastPoll = now
        lastCredentialsCheck = now
        lastActivity = now
        lastSlotRenewal = now
        var logger = context.logger
        logger[metadataKey: "imap.connection"] = "\(connectionID)"
        logger[metadataKey: "client"] = "\(connection.remoteAddress)"
        self.logger = logger
    }

    private var grant: Grant? {
        if case .authenticated(let grant) = state { return grant }
        return nil
    }

    private var capabilities: [String] { IMAPCapabilities.list(isTLS: isTLS, authenticated: grant != nil, appendLimit: context.limits.maxAppendLiteralSize) }

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
        let this = Unchecked(session: self)
        for await event in events {
            // Most ticks find no timer due; deciding that here spares the session a child task.
            if case .tick = event, !hasTimerWork(at: context.clock.now()) { continue }
            // Each event is handled in a child task. A task keeps the memory of the deepest call
            // stack it ever reached until it ends, and a session may sit in IDLE for hours after a
            // FETCH or an APPEND went deep; the child's memory goes back when the event is done.
            // Events stay one at a time: this loop waits for each child before taking the next.
            async let handled = this.session.handleOrEnd(event)
            if !(await handled) { break }
        }
        await end()
    }

    /// Hands the session to the child task of one event. The loop in `run` awaits that child
    /// before it touches the session again, so the session is never used by two tasks at once.
    private struct Unchecked: @unchecked Sendable {
        let session: IMAPSession
    }

    /// Returns false when the connection must end.
    private func handleOrEnd(_ event: SessionEvent) async -> Bool {
        do {
            return try await handle(event)
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
            return false
        }
    }

    private func end() async {
        if handedOff {
            // The relay owns the connection now; it closes with either side.
            await connection.closed()
            return
        }
        if let grant, let listenerToken { context.events.stopListening(grant: grant.id, token: listenerToken) }
        if grant != nil { IMAPMetrics.connections(state: "authenticated").decrement() }
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
        case .mailboxChanged(let folderID, let modseq):
            if let selected, folderID == nil || folderID == selected.folder.id, (modseq ?? .max) > selected.knownModseq {
                selectedMailboxChanged = true
            }
            // Pushed at once during IDLE; otherwise reported at the end of the next command.
            if case .idle = pending, let grant {
                let updates = try await synchronize(grant)
                if !updates.isEmpty {
                    IMAPMetrics.pushes.increment(by: Int64(updates.count))
                    try await send(updates)
                }
            }
            return true
        case .shutdown:
            try await connection.write(.untagged(.bye(ResponseText(code: .unavailable, text: "This node is shutting down; reconnect"))), encoder: encoder)
            return false
        case .credentialsChanged:
            // IDLE sessions end at once; others fail their next command (see `execute`).
            credentialsRevoked = true
            if case .idle = pending {
                try await connection.write(.untagged(.bye(ResponseText(code: .authenticationFailed, text: "Credentials changed; log in again"))), encoder: encoder)
                return false
            }
            return true
        case .input(let result):
            lastActivity = context.clock.now()
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

    /// Whether `checkTimers` has anything to do at `now`: the same conditions, in the same order.
    private func hasTimerWork(at now: ContinuousClock.Instant) -> Bool {
        if grant != nil, now - lastSlotRenewal >= ConnectionSlots.renewInterval { return true }
        if grant != nil, !credentialsRevoked, now - lastCredentialsCheck >= .seconds(30) { return true }
        switch pending {
        case .idle(_, let since, let lastKeepalive):
            if now - since >= context.timers.maximumIDLE { return true }
            if grant != nil, selected != nil, now - lastPoll >= idlePollInterval { return true }
            return now - lastKeepalive >= context.timers.keepalive
        default:
            return now - lastActivity >= context.timers.idleOutsideIDLE
        }
    }

    /// Reading the change log as well keeps IDLE complete when Redis announcements are lost:
    /// every tick while the bus is unhealthy, now and then otherwise.
    private var idlePollInterval: Duration { context.events.isHealthy ? .seconds(60) : context.timers.tick }

    private func checkTimers() async throws -> Bool {
        let now = context.clock.now()
        if let grant, now - lastSlotRenewal >= ConnectionSlots.renewInterval {
            lastSlotRenewal = now
            await context.slots.renew(grant: grant.id, connection: connectionID)
        }
        if let grant, !credentialsRevoked, now - lastCredentialsCheck >= .seconds(30) {
            lastCredentialsCheck = now
            let grants = context.grants
            if let current = try? await context.credentialChecks.grant(grant.id, now: now, read: { try await grants.grant(id: grant.id) }),
               current.credentialsVersion == grant.credentialsVersion {
                // unchanged
            } else if (try? await context.grants.ping()) != nil {
                return try await handle(.credentialsChanged)
            }
        }
        switch pending {
        case .idle(let tag, let since, let lastKeepalive):
            if now - since >= context.timers.maximumIDLE {
                // The seed: IDLE ends after 30 minutes with a response, and the client re-issues it.
                // Back to command mode; a DONE the client sends before it sees the response is dropped.
                pending = .none
                lateDoneExpected = true
                IMAPMetrics.idleSessions.decrement()
                connection.requestNext(mode: .command)
                try await connection.write(.tagged(TaggedResponse(tag: tag, state: .ok, "IDLE terminated after 30 minutes; re-issue IDLE")), encoder: encoder)
                lastActivity = now
                return true
            }
            if let grant, selected != nil, now - lastPoll >= idlePollInterval {
                lastPoll = now
                let updates = try await synchronize(grant, force: true)
                if !updates.isEmpty {
                    IMAPMetrics.pushes.increment(by: Int64(updates.count))
                    try await send(updates)
                }
            }
            if now - lastKeepalive >= context.timers.keepalive {
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
        if handedOff { return false }
        if keepGoing { connection.requestNext(mode: parserMode) }
        if !responses.isEmpty { try await send(responses) }
        if let commandName {
            IMAPMetrics.command(commandName, outcome: responses.last.map(Self.outcome) ?? "none", duration: .now - started)
        }
        return keepGoing
    }

    /// Writes answers, first announcing any keyword they show the client for the first time.
    private func send(_ responses: [Response]) async throws {
        var responses = responses
        if var mailbox = selected {
            responses = mailbox.announcingNewKeywords(responses)
            selected = mailbox
        }
        try await connection.write(responses, encoder: encoder)
    }

    private func answer(_ result: ParseResult) async -> ([Response], Bool, String?) {
        switch result {
        case .command(let command):
            lateDoneExpected = false
            let (responses, keepGoing) = await execute(command)
            return (responses, keepGoing, command.command.name)
        case .error(let error):
            if lateDoneExpected, error.tag?.uppercased() == "DONE" {
                lateDoneExpected = false
                return ([], true, nil)
            }
            // An APPEND rejected between two messages stores none of them (RFC 3502 6.3.11).
            if let appending = append, appending.tag == error.tag { append = nil }
            return (error.responses, !error.closeConnection, "INVALID")
        case .idleDone:
            guard case .idle(let tag, _, _) = pending else { return ([], true, nil) }
            pending = .none
            IMAPMetrics.idleSessions.decrement()
            return ([.tagged(TaggedResponse(tag: tag, state: .ok, "IDLE terminated"))], true, nil)
        case .authenticationResponse(let response):
            guard case .authenticate(let tag) = pending else { return ([], true, nil) }
            pending = .none
            switch response {
            case .cancel:
                return ([.tagged(TaggedResponse(tag: tag, state: .bad, "AUTHENTICATE cancelled"))], true, "AUTHENTICATE")
            case .data(let bytes):
                return ([await authenticatePlain(tag: tag, bytes)], true, "AUTHENTICATE")
            }
        case .needsContinuation:
            return ([.continuation(.ready)], true, nil)
        case .needsMoreData:
            return ([], true, nil)
        case .appendStart(let tag, let mailbox):
            append = PendingAppend(tag: tag, mailbox: mailbox)
            return ([], true, nil)
        case .appendBeginMessage(let message):
            return await beginAppendMessage(message)
        case .appendData(var data):
            if append?.failure == nil, let bytes = data.readBytes(length: data.readableBytes) { append?.bytes += bytes }
            return ([], true, nil)
        case .appendEndMessage:
            await endAppendMessage()
            return ([], true, nil)
        case .appendFinish:
            return (await finishAppend(), true, "APPEND")
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

        // The grant's credentials changed since login: whatever the command, the session ends.
        if credentialsRevoked, grant != nil, tagged.command != .logout {
            return ([no("Credentials changed; log in again", code: .authenticationFailed),
                     .untagged(.bye(ResponseText(text: "Credentials changed")))], false)
        }
        switch tagged.command {
        case .capability:
            return ([.untagged(.capability(capabilities)), ok("CAPABILITY completed")], true)
        case .noop:
            // NOOP is how a client without IDLE polls (RFC 9051 6.1.2): report what changed.
            guard let grant, selected != nil else { return ([ok("NOOP completed")], true) }
            let updates = (try? await synchronize(grant, force: true)) ?? []
            return (updates + [ok("NOOP completed")], true)
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
            // RFC 5161 3.1: the answer lists what this command enabled; unknown names are ignored.
            var enabled: [String] = []
            if !imap4rev2, names.contains(where: { $0.uppercased() == "IMAP4REV2" }) {
                imap4rev2 = true
                encoder = ResponseEncoder(utf8Accepted: true)
                // RFC 5161 3.1 asks clients to ENABLE before they select, and lets servers not check.
                // A client that enables IMAP4rev2 with a mailbox selected gets no \Recent from then on.
                selected?.forgetRecent()
                enabled.append("IMAP4rev2")
            }
            return ([.untagged(.enabled(enabled)), ok("ENABLE completed")], true)
        case .namespace:
            guard grant != nil else { return ([bad("NAMESPACE requires authentication")], true) }
            return ([.untagged(.namespace(personal: [NamespaceDescription(prefix: "", delimiter: "/")], otherUsers: [], shared: [])),
                     ok("NAMESPACE completed")], true)
        case .idle:
            guard grant != nil else { return ([bad("IDLE requires authentication")], true) }
            let now = context.clock.now()
            pending = .idle(tag: tag, since: now, lastKeepalive: now)
            IMAPMetrics.idleSessions.increment()
            let updates = selected == nil ? [] : ((try? await synchronize(grant!, force: true)) ?? [])
            return ([.continuation(.text(ResponseText(text: "idling")))] + updates, true)
        default:
            guard let grant else { return ([bad("\(tagged.command.name) requires authentication")], true) }
            do {
                // FETCH, STORE and SEARCH by sequence number may not report expunges (RFC 9051
                // 7.4.1), but they answer from the mailbox as it is now: other sessions' flag
                // changes and new messages are told first.
                var early: [Response] = []
                switch tagged.command {
                case .fetch, .store, .search: early = try await synchronize(grant, allowExpunges: false)
                default: break
                }
                var responses = try await early + executeAuthenticated(tagged, grant: grant)
                // Report what other sessions changed, except where RFC 9051 7.4.1 forbids
                // EXPUNGE responses (FETCH, STORE, SEARCH by sequence number).
                switch tagged.command {
                case .fetch, .store, .search, .select, .examine, .close, .unselect, .logout: break
                default:
                    let updates = try await synchronize(grant)
                    if let last = responses.popLast() { responses += updates + [last] }
                }
                return (responses, true)
            } catch let error as IMAPCommandError {
                return ([error.response(tag: tag)], true)
            } catch let error as MailStoreError {
                return ([IMAPCommandError(error).response(tag: tag)], true)
            } catch {
                logger.error("IMAP command failed", metadata: ["command": "\(tagged.command.name)", "error": "\(error)"])
                return ([no("Server error; try again", code: .serverBug)], true)
            }
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
        let client = await connection.clientAddress()
        if client != connection.remoteAddress { logger[metadataKey: "client"] = "\(client)" }
        let outcome = await IMAPAuthenticator(context: context).authenticate(account: account, password: password, from: client)
        switch outcome {
        case .failure:
            logger.notice("IMAP login failed", metadata: ["account": "\(account)"])
            return .tagged(TaggedResponse(tag: tag, state: .no, code: .authenticationFailed, "Authentication failed"))
        case .unavailable:
            return .tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable, "Authentication is temporarily unavailable; try again"))
        case .elsewhere(let home):
            return await relay(tag: tag, account: account, password: password, to: home)
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
            IMAPMetrics.connections(state: "authenticated").increment()
            let sink = eventSink
            listenerToken = context.events.listen(grant: grant.id) { event in
                switch event {
                case .mailboxChanged(let folderID, let modseq): sink.yield(.mailboxChanged(folderID: folderID, modseq: modseq))
                case .credentialsChanged: sink.yield(.credentialsChanged)
                }
            }
            logger[metadataKey: "grant_id"] = "\(grant.id)"
            logger.info("IMAP login")
            lastSlotRenewal = context.clock.now()
            return .tagged(TaggedResponse(tag: tag, state: .ok, code: .capability(capabilities), "Logged in"))
        }
    }

    // MARK: - Authenticated and selected state

    private func executeAuthenticated(_ tagged: TaggedCommand, grant: Grant) async throws -> [Response] {
        let tag = tagged.tag
        func ok(_ text: String, code: ResponseCode? = nil) -> Response { .tagged(TaggedResponse(tag: tag, state: .ok, code: code, text)) }
        switch tagged.command {
        case .select(let mailbox, _):
            return try await select(grant, mailbox, readOnly: false, tag: tag)
        case .examine(let mailbox, _):
            return try await select(grant, mailbox, readOnly: true, tag: tag)
        case .create(let mailbox, _):
            try await create(grant, mailbox)
            return [ok("CREATE completed")]
        case .delete(let mailbox):
            try await delete(grant, mailbox)
            return [ok("DELETE completed")]
        case .rename(let from, let to):
            try await rename(grant, from: from, to: to)
            return [ok("RENAME completed")]
        case .subscribe(let mailbox):
            try await subscribe(grant, mailbox)
            return [ok("SUBSCRIBE completed")]
        case .unsubscribe(let mailbox):
            try await unsubscribe(grant, mailbox)
            return [ok("UNSUBSCRIBE completed")]
        case .list(let command):
            return try await list(grant, command, lsub: false) + [ok("LIST completed")]
        case .lsub(let reference, let pattern):
            return try await list(grant, ListCommand(reference: reference, patterns: [pattern]), lsub: true) + [ok("LSUB completed")]
        case .status(let mailbox, let attributes):
            return try await status(grant, mailbox, attributes) + [ok("STATUS completed")]
        case .getQuota(let root):
            guard root.isEmpty else { throw IMAPCommandError(.no, code: .nonExistent, "No such quota root") }
            return [try await quotaResponses(grant), ok("GETQUOTA completed")]
        case .getQuotaRoot(let mailbox):
            _ = try await lookUpFolder(grant, mailbox)
            return [.untagged(.quotaRoot(mailbox, [""])), try await quotaResponses(grant), ok("GETQUOTAROOT completed")]
        case .setQuota:
            throw IMAPCommandError(.no, code: .noPerm, "Quotas are set by the operator")
        case .check:
            // RFC 3501 6.4.1: with no housekeeping to do, CHECK is a NOOP, and a NOOP polls.
            _ = try requireSelected()
            return try await synchronize(grant, force: true) + [ok("CHECK completed")]
        case .close:
            let mailbox = try requireSelected()
            if !mailbox.readOnly {
                _ = try await context.store.expunge(grant: grant.id, folderID: mailbox.folder.id, uids: nil)
            }
            selected = nil
            return [ok("CLOSE completed")]
        case .unselect:
            _ = try requireSelected()
            selected = nil
            return [ok("UNSELECT completed")]
        case .expunge:
            return try await expunge(grant, uids: nil) + [ok("EXPUNGE completed")]
        case .uidExpunge(let set):
            return try await expunge(grant, uids: set) + [ok("UID EXPUNGE completed")]
        case .fetch(let command):
            return try await fetch(grant, command, byUID: false) + [ok("FETCH completed")]
        case .uidFetch(let command):
            return try await fetch(grant, command, byUID: true) + [ok("UID FETCH completed")]
        case .store(let command):
            return try await store(grant, command, byUID: false) + [ok("STORE completed")]
        case .uidStore(let command):
            return try await store(grant, command, byUID: true) + [ok("UID STORE completed")]
        case .copy(let set, let mailbox):
            return try await copyOrMove(grant, set, to: mailbox, byUID: false, move: false, tag: tag)
        case .uidCopy(let set, let mailbox):
            return try await copyOrMove(grant, set, to: mailbox, byUID: true, move: false, tag: tag)
        case .move(let set, let mailbox):
            return try await copyOrMove(grant, set, to: mailbox, byUID: false, move: true, tag: tag)
        case .uidMove(let set, let mailbox):
            return try await copyOrMove(grant, set, to: mailbox, byUID: true, move: true, tag: tag)
        case .search(let command):
            return try await search(grant, command, byUID: false, tag: tag) + [ok("SEARCH completed")]
        case .uidSearch(let command):
            return try await search(grant, command, byUID: true, tag: tag) + [ok("UID SEARCH completed")]
        default:
            throw IMAPCommandError(.bad, "\(tagged.command.name) is not valid in this state")
        }
    }

    // MARK: - APPEND

    private func beginAppendMessage(_ message: AppendMessage) async -> ([Response], Bool, String?) {
        guard var pending = append else { return ([], true, nil) }
        guard let grant else {
            pending.failure = IMAPCommandError(.bad, "APPEND requires authentication")
            return await refuseAppend(pending, isSynchronizing: message.isSynchronizing)
        }
        if pending.failure == nil {
            do {
                let known = pending.folder.flatMap { folder in pending.quota.map { (folder, $0) } }
                (pending.folder, pending.quota) = try await beginAppend(grant, pending.mailbox, size: message.size, known: known,
                                                                         heldBytes: pending.heldBytes)
            } catch let error as IMAPCommandError {
                pending.failure = error
            } catch {
                pending.failure = IMAPCommandError(.no, code: .serverBug, "Server error; try again")
            }
        }
        if pending.failure != nil { return await refuseAppend(pending, isSynchronizing: message.isSynchronizing) }
        pending.current = message
        pending.bytes = []
        pending.bytes.reserveCapacity(message.size)
        append = pending
        return ([], true, nil)
    }

    /// A synchronizing literal is refused before the client sends it; a LITERAL+ one is read and dropped.
    private func refuseAppend(_ pending: PendingAppend, isSynchronizing: Bool) async -> ([Response], Bool, String?) {
        if isSynchronizing, await connection.rejectPendingLiteral() {
            append = nil
            return ([(pending.failure ?? IMAPCommandError(.no, "APPEND failed")).response(tag: pending.tag)], true, "APPEND")
        }
        append = pending
        return ([], true, nil)
    }

    /// MULTIAPPEND is atomic (RFC 3502 6.3.11): the messages are held until the command ends and
    /// then stored in one transaction. They may hold at most this many bytes together.
    var maximumMultiAppendBytes: Int { 2 * context.limits.maxAppendLiteralSize }

    private func endAppendMessage() async {
        guard var pending = append, pending.failure == nil, let message = pending.current else { return }
        pending.heldBytes += pending.bytes.count
        if pending.heldBytes > maximumMultiAppendBytes {
            IMAPMetrics.limitRefusal("multiappend")
            pending.failure = IMAPCommandError(.no, code: .limit, "MULTIAPPEND holds more than \(maximumMultiAppendBytes) bytes; append fewer messages at once")
            pending.messages = []
        } else {
            // Into the selected mailbox, keywords take the spelling it already uses.
            let flags = if let selected, selected.folder.id == pending.folder?.id { message.flags.map(selected.spelling(of:)) } else { message.flags }
            pending.messages.append(NewMessage(
                raw: pending.bytes, facts: MessageFacts(parsing: MIMEMessage(parsing: pending.bytes)),
                flags: MessageFlags(imapFlags: flags), internalDate: message.internalDate?.secondsSince1970 ?? WallClock.unixSeconds()))
        }
        pending.bytes = []
        pending.current = nil
        append = pending
    }

    private func finishAppend() async -> [Response] {
        guard var pending = append else { return [] }
        append = nil
        if pending.failure == nil, let grant, let folder = pending.folder, !pending.messages.isEmpty {
            do {
                pending.results = try await context.store.append(grant: grant.id, folderID: folder.id, messages: pending.messages)
            } catch let error as MailStoreError {
                pending.failure = IMAPCommandError(error)
            } catch {
                logger.error("APPEND failed", metadata: ["error": "\(error)"])
                pending.failure = IMAPCommandError(.no, code: .serverBug, "Server error; try again")
            }
        }
        if let failure = pending.failure { return [failure.response(tag: pending.tag)] }
        var responses: [Response] = []
        if let grant, (try? await synchronize(grant, force: true)).map({ responses = $0 }) == nil {
            responses = []
        }
        guard let last = pending.results.last else {
            return responses + [.tagged(TaggedResponse(tag: pending.tag, state: .ok, "APPEND completed"))]
        }
        let uids = SequenceSet.compact(pending.results.map { UInt32(truncatingIfNeeded: $0.uid) })
        return responses + [.tagged(TaggedResponse(tag: pending.tag, state: .ok,
                                                   code: .appendUID(uidValidity: UInt32(truncatingIfNeeded: last.uidValidity), uids: uids),
                                                   "APPEND completed"))]
    }
}

extension IMAPSession {
    /// The grant lives in another region: log in on a live node there and relay the rest of the
    /// connection to it, so that the session runs where the grant's data is.
    func relay(tag: String, account: String, password: String, to home: Region) async -> Response {
        guard let registry = context.registries[home] else {
            return .tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable, "Region \(home) is not reachable from this node"))
        }
        let upstream = IMAPUpstreamLogin(registry: registry, tls: context.upstreamTLS)
        switch await upstream.login(account: account, password: password, group: connection.channel.eventLoop) {
        case .refused:
            IMAPMetrics.authFailure(reason: "password")
            return .tagged(TaggedResponse(tag: tag, state: .no, code: .authenticationFailed, "Authentication failed"))
        case .unavailable(let why):
            logger.warning("cannot relay to the home region", metadata: ["region": "\(home)", "reason": "\(why)"])
            return .tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable, "The account's region is unavailable; try again"))
        case .authenticated(let channel, _):
            do {
                try await connection.write(.tagged(TaggedResponse(tag: tag, state: .ok, "Logged in (served in region \(home))")), encoder: encoder)
                try await connection.splice(to: channel)
                handedOff = true
                IMAPMetrics.relayedSessions.increment()
                logger.info("IMAP session relayed to its home region", metadata: ["region": "\(home)"])
            } catch {
                // The client may already have its OK: the only honest way on is to hang up.
                channel.close(promise: nil)
                await connection.close()
                handedOff = true
            }
            return .tagged(TaggedResponse(tag: tag, state: .ok, "relayed"))
        }
    }
}

/// The state of an APPEND between its first line and its end.
struct PendingAppend {
    let tag: String
    let mailbox: MailboxName
    var folder: MailFolder?
    /// The grant's quota as the first message found it.
    var quota: QuotaUsage?
    var current: AppendMessage?
    var bytes: [UInt8] = []
    /// Complete messages waiting for the end of the command.
    var messages: [NewMessage] = []
    var heldBytes = 0
    var results: [AppendResult] = []
    var failure: IMAPCommandError?

    init(tag: String, mailbox: MailboxName) {
        self.tag = tag
        self.mailbox = mailbox
    }
}
