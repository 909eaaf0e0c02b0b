import Cluster
import IMAPGrammar
import MailCore

/// The decisions of one IMAP session, apart from its I/O: the RFC 9051 connection states (not
/// authenticated, authenticated; selected is the session's `SelectedMailbox`), what the next input is expected to be (a command, `DONE`,
/// an AUTHENTICATE line), the protocol timers, and which answers and which store work each event
/// calls for.
///
/// It never waits and never touches a socket, a store or a clock: it is given an event and the
/// time, and returns actions. `IMAPSession` performs them in order and, for an `.effect` (always
/// the last action of a list), feeds the effect's outcome back as `.finished`. Events arrive one at
/// a time, so at most one effect is in flight, and `awaiting` says what its outcome is for.
/// The work of the authenticated and selected states (SELECT, FETCH, STORE, ...) is one effect,
/// `.command`: the session runs it against the store and the selected mailbox's state.
struct SessionMachine {
    struct Configuration {
        var hostname: String
        var timers: IMAPServerContext.Timers
        /// The largest message APPEND takes (RFC 7889).
        var appendLimit: Int
    }

    /// Facts from outside the session that its timers depend on, read when a tick is delivered.
    struct TickFacts: Equatable {
        /// Whether mailbox announcements are flowing: IDLE reads the change log more often when not.
        var busHealthy: Bool
        /// Whether a mailbox is selected: only then has IDLE a change log to read.
        var hasSelection: Bool
    }

    enum Input {
        /// The connection is open: greet.
        case started
        case parsed(ParseResult)
        case tick(TickFacts)
        /// An announcement that a mailbox of the grant changed (`folderID` nil: any of them).
        case mailboxChanged(folderID: String?, modseq: Int64?)
        case credentialsChanged
        case shutdown
        case closed
        /// What the effect asked for last came to.
        case finished(Outcome)
    }

    /// Work with I/O, done by the session; its outcome comes back as `.finished`.
    enum Effect: Equatable {
        /// Check the credentials, and log in (or relay the connection to the grant's home region).
        case login(tag: String, account: String, password: String)
        /// Write `ok`, then put TLS in front of the connection.
        case startTLS(ok: Response)
        /// Write `ok`, then compress both directions (RFC 4978).
        case startCompression(ok: Response)
        /// A command of the authenticated or selected state, for the grant logged in.
        case command(TaggedCommand)
        /// One step of an APPEND (RFC 3502: its messages arrive in several parts).
        case append(ParseResult)
        /// Read what changed in the selected mailbox; `force`: even without an announcement.
        case synchronize(force: Bool)
        /// Extend the connection's slot (see `ConnectionSlots`).
        case renewSlot
        /// Read whether the grant's credentials changed since login.
        case checkCredentials
        /// Give back what the login took (connection slot, change listener) and forget the
        /// session's state: the client logs out but keeps the connection (RFC 8437).
        case unauthenticate
    }

    enum CredentialsCheck: Equatable {
        case unchanged
        case changed
        /// The store did not answer: nothing is known.
        case unknown
    }

    enum Outcome: Equatable {
        case loggedIn(Grant)
        /// The login was refused (the answer says why).
        case loginRefused(Response)
        /// The connection was handed to another region's node, which answers from now on.
        case handedOff
        case tlsStarted
        case compressionStarted
        /// The effect could not be done and the connection cannot go on.
        case failed
        /// A command's or an APPEND step's answer (none while an APPEND is under way); the name
        /// counts the command in metrics when it is complete.
        case answered([Response], commandName: String?)
        /// nil when the change log could not be read.
        case synchronized([Response]?)
        case credentials(CredentialsCheck)
        case done
    }

    enum Metric: Equatable {
        case idleStarted
        case idleEnded
        case pushes(Int)
        /// A command completed, with the state of its last answer (`ok`, `no`, `bad`, `bye`).
        case command(name: String, outcome: String)
    }

    enum Action: Equatable {
        /// Parse the next input in this mode (asked for before a write: a write can wait on a TLS
        /// handshake, which needs the socket read).
        case requestNext(CommandParser.Mode)
        case write([Response])
        case effect(Effect)
        /// An announcement concerns the selected mailbox when it names it with a newer modseq.
        case noteMailboxChange(folderID: String?, modseq: Int64?)
        /// An APPEND whose command was rejected stores none of its messages (RFC 3502 6.3.11).
        case abandonAppend(tag: String?)
        case count(Metric)
        /// Close the connection.
        case end
    }

    /// The logout state needs no case of its own: the connection ends as it is entered.
    enum Phase: Equatable {
        case notAuthenticated
        case authenticated(Grant)
    }

    /// What the next input is expected to be, besides a command.
    enum Expecting: Equatable {
        case command
        case idle(tag: String, since: ContinuousClock.Instant, lastKeepalive: ContinuousClock.Instant)
        case authenticate(tag: String)
    }

    /// The steps of a tick, in the order they are checked.
    enum TickStep: Int, Comparable {
        case slot, credentials, idleLimit, poll, keepalive

        static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// What the effect in flight is for.
    enum Awaiting: Equatable {
        case login(tag: String, commandName: String)
        case startTLS
        case startCompression
        /// A NOTIFY command; `set`: SET rather than NONE.
        case notify(set: Bool)
        case command(name: String)
        case unauthenticate(tag: String)
        case append
        case idleStart
        case push
        /// The tick resumes at `next` once the effect is done.
        case tick(next: TickStep, facts: TickFacts)
    }

    let configuration: Configuration
    private(set) var phase: Phase = .notAuthenticated
    private(set) var expecting: Expecting = .command
    private(set) var isTLS: Bool
    /// COMPRESS=DEFLATE is on; it stays on for the connection's life, across UNAUTHENTICATE.
    private(set) var isCompressed = false
    /// A NOTIFY SET is in force (RFC 5465): changes are told between commands too, not only in IDLE.
    private(set) var notifying = false
    private(set) var awaiting: Awaiting?
    /// The server ended an IDLE: the client's DONE may still be on its way.
    private var lateDoneExpected = false
    /// Set when the grant's credentials changed after this session logged in.
    private(set) var credentialsRevoked = false
    private var lastActivity: ContinuousClock.Instant
    private var lastSlotRenewal: ContinuousClock.Instant
    private var lastCredentialsCheck: ContinuousClock.Instant
    private var lastPoll: ContinuousClock.Instant

    /// How often a session checks that its grant's credentials did not change.
    static let credentialsCheckInterval: Duration = .seconds(30)

    init(configuration: Configuration, isTLS: Bool, now: ContinuousClock.Instant) {
        self.configuration = configuration
        self.isTLS = isTLS
        lastActivity = now
        lastSlotRenewal = now
        lastCredentialsCheck = now
        lastPoll = now
    }

    var grant: Grant? {
        if case .authenticated(let grant) = phase { return grant }
        return nil
    }

    var isIdling: Bool {
        if case .idle = expecting { return true }
        return false
    }

    var capabilities: [String] {
        IMAPCapabilities.list(isTLS: isTLS, authenticated: grant != nil, appendLimit: configuration.appendLimit)
    }

    private var parserMode: CommandParser.Mode {
        switch expecting {
        case .command: .command
        case .idle: .idle
        case .authenticate: .authenticate
        }
    }

    // MARK: - Events

    mutating func receive(_ input: Input, at now: ContinuousClock.Instant) -> [Action] {
        switch input {
        case .started:
            let greeting = Response.untagged(.ok(ResponseText(code: .capability(capabilities), text: "\(configuration.hostname) IMAP service ready")))
            // Input is asked for first: with implicit TLS the greeting cannot leave before the
            // handshake, and the handshake needs the socket to be read.
            return [.requestNext(.command), .write([greeting])]
        case .closed:
            return [.end]
        case .tick(let facts):
            return continueTick(from: .slot, facts: facts, at: now)
        case .mailboxChanged(let folderID, let modseq):
            var actions: [Action] = [.noteMailboxChange(folderID: folderID, modseq: modseq)]
            // Pushed at once during IDLE, and between commands once NOTIFY asked for it (RFC 5465
            // 4); otherwise reported at the end of the next command.
            if grant != nil, isIdling || (notifying && expecting == .command) {
                awaiting = .push
                actions.append(.effect(.synchronize(force: false)))
            }
            return actions
        case .credentialsChanged:
            return revokeCredentials()
        case .shutdown:
            return [.write([.untagged(.bye(ResponseText(code: .unavailable, text: "This node is shutting down; reconnect")))]), .end]
        case .parsed(let result):
            lastActivity = now
            return answer(result, at: now)
        case .finished(let outcome):
            guard let awaiting else { return [] }
            self.awaiting = nil
            return resume(awaiting, with: outcome, at: now)
        }
    }

    /// IDLE sessions end at once; others fail their next command (see `execute`).
    private mutating func revokeCredentials() -> [Action] {
        credentialsRevoked = true
        guard isIdling else { return [] }
        return [.write([.untagged(.bye(ResponseText(code: .authenticationFailed, text: "Credentials changed; log in again")))]), .end]
    }

    /// Asks for the next input (unless the connection ends), writes the answer, counts the command.
    private func reply(_ responses: [Response], keepGoing: Bool = true, commandName: String?) -> [Action] {
        var actions: [Action] = []
        if keepGoing { actions.append(.requestNext(parserMode)) }
        if !responses.isEmpty { actions.append(.write(responses)) }
        if let commandName {
            actions.append(.count(.command(name: commandName, outcome: responses.last.map(Self.outcome) ?? "none")))
        }
        if !keepGoing { actions.append(.end) }
        return actions
    }

    static func outcome(_ response: Response) -> String {
        if case .tagged(let tagged) = response { return tagged.state.rawValue.lowercased() }
        return "bye"
    }

    private mutating func answer(_ result: ParseResult, at now: ContinuousClock.Instant) -> [Action] {
        switch result {
        case .command(let command):
            lateDoneExpected = false
            return execute(command, at: now)
        case .error(let error):
            if lateDoneExpected, error.tag?.uppercased() == "DONE" {
                lateDoneExpected = false
                return reply([], commandName: nil)
            }
            return [.abandonAppend(tag: error.tag)] + reply(error.responses, keepGoing: !error.closeConnection, commandName: "INVALID")
        case .idleDone:
            guard case .idle(let tag, _, _) = expecting else { return reply([], commandName: nil) }
            expecting = .command
            return [.count(.idleEnded)] + reply([.tagged(TaggedResponse(tag: tag, state: .ok, "IDLE terminated"))], commandName: nil)
        case .authenticationResponse(let response):
            guard case .authenticate(let tag) = expecting else { return reply([], commandName: nil) }
            expecting = .command
            switch response {
            case .cancel:
                return reply([.tagged(TaggedResponse(tag: tag, state: .bad, "AUTHENTICATE cancelled"))], commandName: "AUTHENTICATE")
            case .data(let bytes):
                return authenticatePlain(tag: tag, bytes, commandName: "AUTHENTICATE")
            }
        case .needsContinuation:
            return reply([.continuation(.ready)], commandName: nil)
        case .needsMoreData:
            return reply([], commandName: nil)
        case .appendStart, .appendBeginMessage, .appendData, .appendEndMessage, .appendFinish:
            awaiting = .append
            return [.effect(.append(result))]
        }
    }

    private mutating func execute(_ tagged: TaggedCommand, at now: ContinuousClock.Instant) -> [Action] {
        let tag = tagged.tag
        let name = tagged.command.name
        func ok(_ text: String, code: ResponseCode? = nil) -> Response { .tagged(TaggedResponse(tag: tag, state: .ok, code: code, text)) }
        func no(_ text: String, code: ResponseCode? = nil) -> Response { .tagged(TaggedResponse(tag: tag, state: .no, code: code, text)) }
        func bad(_ text: String) -> Response { .tagged(TaggedResponse(tag: tag, state: .bad, text)) }
        func answer(_ responses: Response...) -> [Action] { reply(responses, commandName: name) }

        // The grant's credentials changed since login: whatever the command, the session ends.
        if credentialsRevoked, grant != nil, tagged.command != .logout {
            return reply([no("Credentials changed; log in again", code: .authenticationFailed),
                          .untagged(.bye(ResponseText(text: "Credentials changed")))], keepGoing: false, commandName: name)
        }
        switch tagged.command {
        case .capability:
            return answer(.untagged(.capability(capabilities)), ok("CAPABILITY completed"))
        case .logout:
            return reply([.untagged(.bye(ResponseText(text: "\(configuration.hostname) logging out"))), ok("LOGOUT completed")],
                         keepGoing: false, commandName: name)
        case .id:
            let fields = [IDField("name", "mailnode"), IDField("vendor", "mailnode"), IDField("support-url", "https://\(configuration.hostname)")]
            return answer(.untagged(.id(fields)), ok("ID completed"))
        case .startTLS:
            guard !isTLS else { return answer(bad("TLS is already active")) }
            guard grant == nil else { return answer(bad("STARTTLS is only allowed before login")) }
            awaiting = .startTLS
            return [.effect(.startTLS(ok: ok("Begin TLS negotiation now")))]
        case .login(let account, let password):
            guard grant == nil else { return answer(bad("Already authenticated")) }
            guard isTLS else { return answer(no("LOGIN is disabled before STARTTLS", code: .privacyRequired)) }
            awaiting = .login(tag: tag, commandName: name)
            return [.effect(.login(tag: tag, account: account, password: password))]
        case .authenticate(let mechanism, let initialResponse):
            guard grant == nil else { return answer(bad("Already authenticated")) }
            guard mechanism.uppercased() == "PLAIN" else { return answer(no("Unsupported authentication mechanism", code: .cannot)) }
            guard isTLS else { return answer(no("Authentication is disabled before STARTTLS", code: .privacyRequired)) }
            switch initialResponse {
            case .some(.data(let bytes)):
                return authenticatePlain(tag: tag, bytes, commandName: name)
            case .some(.empty):
                return authenticatePlain(tag: tag, [], commandName: name)
            case .none:
                // Counted when the client's response completes it.
                expecting = .authenticate(tag: tag)
                return reply([.continuation(.challenge([]))], commandName: nil)
            }
        case .noop where grant == nil:
            return answer(ok("NOOP completed"))
        case .notify(let notify):
            guard grant != nil else { return answer(bad("NOTIFY requires authentication")) }
            awaiting = .notify(set: notify != .none)
            return [.effect(.command(tagged))]
        case .compress(let mechanism):
            guard grant != nil else { return answer(bad("COMPRESS requires authentication")) }
            guard mechanism == "DEFLATE" else { return answer(bad("Unknown compression mechanism \(mechanism)")) }
            // RFC 4978 3: COMPRESS once more is BAD (COMPRESSIONACTIVE is for compression below IMAP).
            guard !isCompressed else { return answer(bad("Compression is already active")) }
            awaiting = .startCompression
            return [.effect(.startCompression(ok: ok("DEFLATE active")))]
        case .unauthenticate:
            guard grant != nil else { return answer(bad("UNAUTHENTICATE requires authentication")) }
            awaiting = .unauthenticate(tag: tag)
            return [.effect(.unauthenticate)]
        case .idle:
            guard grant != nil else { return answer(bad("IDLE requires authentication")) }
            expecting = .idle(tag: tag, since: now, lastKeepalive: now)
            awaiting = .idleStart
            return [.count(.idleStarted), .effect(.synchronize(force: true))]
        default:
            guard grant != nil else { return answer(bad("\(name) requires authentication")) }
            awaiting = .command(name: name)
            return [.effect(.command(tagged))]
        }
    }

    /// RFC 4616: `[authzid] NUL authcid NUL passwd`.
    private mutating func authenticatePlain(tag: String, _ bytes: [UInt8], commandName: String) -> [Action] {
        let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            return reply([.tagged(TaggedResponse(tag: tag, state: .bad, "Malformed PLAIN response"))], commandName: commandName)
        }
        let authorizationID = String(decoding: parts[0], as: UTF8.self)
        let account = String(decoding: parts[1], as: UTF8.self)
        let password = String(decoding: parts[2], as: UTF8.self)
        if !authorizationID.isEmpty && authorizationID.lowercased() != account.lowercased() {
            return reply([.tagged(TaggedResponse(tag: tag, state: .no, code: .authorizationFailed, "Cannot act as another user"))],
                         commandName: commandName)
        }
        awaiting = .login(tag: tag, commandName: commandName)
        return [.effect(.login(tag: tag, account: account, password: password))]
    }

    // MARK: - Outcomes

    private mutating func resume(_ awaiting: Awaiting, with outcome: Outcome, at now: ContinuousClock.Instant) -> [Action] {
        switch (awaiting, outcome) {
        case (_, .handedOff), (_, .failed):
            return [.end]
        case (.login(let tag, let name), .loggedIn(let grant)):
            phase = .authenticated(grant)
            lastSlotRenewal = now
            return reply([.tagged(TaggedResponse(tag: tag, state: .ok, code: .capability(capabilities), "Logged in"))], commandName: name)
        case (.login(_, let name), .loginRefused(let refusal)):
            return reply([refusal], commandName: name)
        case (.startTLS, .tlsStarted):
            isTLS = true
            return reply([], commandName: "STARTTLS")
        case (.notify(let set), .answered(let responses, _)):
            if case .tagged(let done)? = responses.last, done.state == .ok { notifying = set }
            return reply(responses, commandName: "NOTIFY")
        case (.startCompression, .compressionStarted):
            isCompressed = true
            return reply([], commandName: "COMPRESS")
        case (.command(let name), .answered(let responses, _)):
            return reply(responses, commandName: name)
        case (.unauthenticate(let tag), .done):
            // RFC 8437 3: as if the connection were new, TLS apart.
            phase = .notAuthenticated
            notifying = false
            credentialsRevoked = false
            lastActivity = now
            return reply([.tagged(TaggedResponse(tag: tag, state: .ok, "UNAUTHENTICATE completed"))], commandName: "UNAUTHENTICATE")
        case (.append, .answered(let responses, let name)):
            return reply(responses, commandName: name)
        case (.idleStart, .synchronized(let updates)):
            return reply([.continuation(.text(ResponseText(text: "idling")))] + (updates ?? []), commandName: "IDLE")
        case (.push, .synchronized(let updates)):
            // A change log that cannot be read ends an IDLE (the client reconnects); between
            // commands (NOTIFY) the next command reads it again.
            guard let updates else { return isIdling ? [.end] : [] }
            return pushing(updates)
        case (.tick(let next, let facts), .done):
            return continueTick(from: next, facts: facts, at: now)
        case (.tick, .credentials(.changed)):
            return revokeCredentials()
        case (.tick(let next, let facts), .credentials):
            return continueTick(from: next, facts: facts, at: now)
        case (.tick(let next, let facts), .synchronized(let updates)):
            guard let updates else { return [.end] }
            return pushing(updates) + continueTick(from: next, facts: facts, at: now)
        default:
            // An outcome that does not fit what was asked: a fault of the session's own.
            return [.end]
        }
    }

    /// Untagged updates read during IDLE go out at once.
    private func pushing(_ updates: [Response]) -> [Action] {
        guard !updates.isEmpty else { return [] }
        return [.count(.pushes(updates.count)), .write(updates)]
    }

    // MARK: - Timers

    /// How often IDLE reads the change log besides the announcements: every tick while the bus is
    /// unhealthy (announcements may be lost), now and then otherwise.
    private func idlePollInterval(_ facts: TickFacts) -> Duration {
        facts.busHealthy ? .seconds(60) : configuration.timers.tick
    }

    /// The earliest moment a tick may find a timer of `continueTick` due: the listener's ticker
    /// wakes an idle session only from then on, so that a session waiting between its timers
    /// costs no work. Never later than a timer; earlier only costs a tick that does nothing.
    func nextTimer(facts: TickFacts) -> ContinuousClock.Instant {
        let timers = configuration.timers
        var next: ContinuousClock.Instant
        switch expecting {
        case .idle(_, let since, let lastKeepalive):
            next = min(since + timers.maximumIDLE, lastKeepalive + timers.keepalive)
            if grant != nil, facts.hasSelection { next = min(next, lastPoll + idlePollInterval(facts)) }
        case .command, .authenticate:
            next = lastActivity + timers.idleOutsideIDLE
        }
        if grant != nil {
            next = min(next, lastSlotRenewal + ConnectionSlots.renewInterval)
            if !credentialsRevoked { next = min(next, lastCredentialsCheck + Self.credentialsCheckInterval) }
        }
        return next
    }

    /// The timers that are due at `now`, from `step` on. A step with I/O is an effect, and the
    /// tick goes on from the next step once its outcome is in.
    private mutating func continueTick(from step: TickStep, facts: TickFacts, at now: ContinuousClock.Instant) -> [Action] {
        let timers = configuration.timers
        if step <= .slot, grant != nil, now - lastSlotRenewal >= ConnectionSlots.renewInterval {
            lastSlotRenewal = now
            awaiting = .tick(next: .credentials, facts: facts)
            return [.effect(.renewSlot)]
        }
        if step <= .credentials, grant != nil, !credentialsRevoked, now - lastCredentialsCheck >= Self.credentialsCheckInterval {
            lastCredentialsCheck = now
            awaiting = .tick(next: .idleLimit, facts: facts)
            return [.effect(.checkCredentials)]
        }
        switch expecting {
        case .idle(let tag, let since, let lastKeepalive):
            if now - since >= timers.maximumIDLE {
                // The seed: IDLE ends after 30 minutes with a response, and the client re-issues it.
                // Back to command mode; a DONE the client sends before it sees the response is dropped.
                expecting = .command
                lateDoneExpected = true
                lastActivity = now
                return [.count(.idleEnded), .requestNext(.command),
                        .write([.tagged(TaggedResponse(tag: tag, state: .ok, "IDLE terminated after 30 minutes; re-issue IDLE"))])]
            }
            if step <= .poll, grant != nil, facts.hasSelection, now - lastPoll >= idlePollInterval(facts) {
                lastPoll = now
                awaiting = .tick(next: .keepalive, facts: facts)
                return [.effect(.synchronize(force: true))]
            }
            if now - lastKeepalive >= timers.keepalive {
                expecting = .idle(tag: tag, since: since, lastKeepalive: now)
                return [.write([.untagged(.ok(ResponseText(text: "Still here")))])]
            }
            return []
        case .command, .authenticate:
            if now - lastActivity >= timers.idleOutsideIDLE {
                return [.write([.untagged(.bye(ResponseText(text: "Autologout; idle for too long")))]), .end]
            }
            return []
        }
    }
}
