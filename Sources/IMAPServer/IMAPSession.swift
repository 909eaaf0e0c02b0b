import Cluster
import IMAPGrammar
import Logging
import MIME
import MailCore
import MailPipeline

/// One IMAP connection's session. Its decisions (connection state, IDLE, timers, which work each
/// event calls for) are `SessionMachine`'s; this class performs what the machine asks for: it
/// writes answers, reads and writes the store, and keeps the selected mailbox's state.
final class IMAPSession {
    let context: IMAPServerContext
    private let connection: IMAPConnection
    private let inbox: SessionInbox
    private var machine: SessionMachine
    private var listenerToken: Int?
    /// Set once the connection is relayed to the grant's home region.
    private var handedOff = false
    /// The client's side of the relay, once the connection is relayed.
    private var relay: ByteRelayHandler?
    /// Set once COMPRESS=DEFLATE is on; it stays on for the connection's life.
    private var compressed = false
    /// The NOTIFY in force (RFC 5465); nil before the first one.
    var notify: NotifySettings?
    /// The grant's folders as last told under NOTIFY, by id: what a change is measured against.
    var notifyBaseline: [String: MailFolder] = [:]
    var isIdling: Bool { machine.isIdling }
    /// The mailbox of the selected state, nil otherwise.
    var selected: SelectedMailbox? {
        // Compared with the folder id kept aside, not with `oldValue`: an observer that reads the
        // old value keeps a second reference to the mailbox's arrays, so every change made in
        // place would copy the whole UID map.
        didSet {
            let folderID = selected?.folder.id
            if folderID != selectedFolderID {
                selectedFolderID = folderID
                selectedMailboxChanged = false
            }
        }
    }
    private var selectedFolderID: String?
    /// An announcement said the selected mailbox changed after the session last read its changes.
    /// While the change bus is healthy, reading them can wait for that.
    var selectedMailboxChanged = false
    /// An APPEND being received: its target, the message so far, and the results of earlier
    /// messages of the same command (MULTIAPPEND).
    private var append: PendingAppend?
    /// The store refused an APPEND of this session for the quota: later ones are checked before their bytes.
    var appendRefusedForQuota = false
    private let connectionID: String
    private var encoder = ResponseEncoder()
    /// The client enabled IMAP4rev2 (RFC 9051): no `\Recent`, SEARCH answers in ESEARCH form, and
    /// mailbox names in UTF-8 both ways (RFC 9051 5.1, appendix E).
    private(set) var imap4rev2 = false
    /// CONDSTORE is on (RFC 7162 3.1): enabled, or turned on by the first command that used it.
    /// From then on the untagged FETCH responses of flag changes carry UID and MODSEQ.
    var condstore = false
    /// QRESYNC is enabled (RFC 7162 3.2.3): expunges are told as VANISHED, and SELECT takes QRESYNC.
    var qresync = false
    /// What the session's log lines say of it, kept as fields: a Logger of its own, with its own
    /// metadata dictionary, cost every idle session about 0.7 KiB for lines it rarely writes.
    private var clientAddress: String
    private var loggedInGrant: GrantID?
    var logger: Logger {
        var logger = context.logger
        logger[metadataKey: "imap.connection"] = "\(connectionID)"
        logger[metadataKey: "client"] = "\(clientAddress)"
        if let loggedInGrant { logger[metadataKey: "grant_id"] = "\(loggedInGrant)" }
        return logger
    }
    /// When the input being answered arrived, for the command's duration.
    private var inputArrived = ContinuousClock.now

    /// The machine has had `.started` (the greeting).
    private var greeted = false
    /// Runs once the session is over and its connection closed.
    private var ended: (@Sendable () -> Void)?

    init(context: IMAPServerContext, connection: IMAPConnection, connectionID: String, inbox: SessionInbox) {
        self.context = context
        self.connection = connection
        self.inbox = inbox
        self.connectionID = connectionID
        let configuration = SessionMachine.Configuration(hostname: context.hostname, timers: context.timers,
                                                         appendLimit: context.limits.maxAppendLiteralSize)
        machine = SessionMachine(configuration: configuration, isTLS: connection.isTLS, now: context.clock.now())
        clientAddress = connection.remoteAddress
    }

    private var grant: Grant? { machine.grant }

    // MARK: - The loop

    /// Starts the session: it greets the client, then takes the inbox's events as they come, in a
    /// task that runs while events wait and ends when none does (see `SessionInbox`). `ended` runs
    /// once the session is over.
    func start(in sessions: OpenSessions, ended: @escaping @Sendable () -> Void) {
        self.ended = ended
        let this = Unchecked(session: self)
        inbox.attach { sessions.run { await this.session.takeEvents() } }
    }

    /// Performs the events that wait, then returns. The inbox runs one `takeEvents` at a time,
    /// so the session is never used by two tasks at once.
    private func takeEvents() async {
        if !greeted {
            greeted = true
            guard await perform(machine.receive(.started, at: context.clock.now())) else { return await finish() }
        }
        while let event = inbox.next(idleUntil: machine.nextTimer(facts: tickFacts)) {
            if case .input = event { inputArrived = .now }
            let actions = machine.receive(machineInput(event), at: context.clock.now())
            // Most ticks find no timer due: nothing to do.
            if actions.isEmpty { continue }
            guard await perform(actions), !Task.isCancelled else { return await finish() }
        }
    }

    private func finish() async {
        let ended = self.ended
        self.ended = nil
        if handedOff {
            // The relay owns the connection now and it closes with either side; no task waits
            // for that (the one that logged in and relayed went deep). A drain closes it between
            // two exchanges: the listener waits for every connection it accepted.
            var onShutdown: (@Sendable () -> Void)?
            if let relay { onShutdown = { relay.closeWhenQuiet() } }
            inbox.finish(onShutdown: onShutdown)
            connection.whenClosed { ended?() }
            return
        }
        inbox.finish()
        await end()
        ended?()
    }

    private var tickFacts: SessionMachine.TickFacts {
        SessionMachine.TickFacts(busHealthy: context.events.isHealthy, hasSelection: selected != nil)
    }

    private func machineInput(_ event: SessionEvent) -> SessionMachine.Input {
        switch event {
        case .input(let result): .parsed(result)
        case .closed: .closed
        case .mailboxChanged(let folderID, let modseq): .mailboxChanged(folderID: folderID, modseq: modseq)
        case .credentialsChanged: .credentialsChanged
        case .tick: .tick(tickFacts)
        case .shutdown: .shutdown
        }
    }

    /// Performs the machine's actions in order, feeding each effect's outcome back to it.
    /// Returns false when the connection must end.
    private func perform(_ actions: [SessionMachine.Action]) async -> Bool {
        var queue = actions[...]
        while let action = queue.popFirst() {
            switch action {
            case .requestNext(let mode):
                connection.requestNext(mode: mode)
            case .write(let responses):
                guard (try? await send(responses)) != nil else { return false }
            case .noteMailboxChange(let folderID, let modseq):
                if let selected, folderID == nil || folderID == selected.folder.id, (modseq ?? .max) > selected.knownModseq {
                    selectedMailboxChanged = true
                }
            case .abandonAppend(let tag):
                if let appending = append, appending.tag == tag { append = nil }
            case .count(let metric):
                count(metric)
            case .end:
                return false
            case .effect(let effect):
                let outcome = await outcome(of: effect)
                queue = machine.receive(.finished(outcome), at: context.clock.now())[...]
            }
        }
        return true
    }

    /// Hands the session to the task that takes its events; the inbox starts one such task at a
    /// time, so the session is never used by two tasks at once.
    private struct Unchecked: @unchecked Sendable {
        let session: IMAPSession
    }

    private func count(_ metric: SessionMachine.Metric) {
        switch metric {
        case .idleStarted: IMAPMetrics.idleSessions.increment()
        case .idleEnded: IMAPMetrics.idleSessions.decrement()
        case .pushes(let count): IMAPMetrics.pushes.increment(by: Int64(count))
        case .command(let name, let outcome): IMAPMetrics.command(name, outcome: outcome, duration: .now - inputArrived)
        }
    }

    private func end() async {
        if let grant, let listenerToken { context.events.stopListening(grant: grant.id, token: listenerToken) }
        if grant != nil { IMAPMetrics.connections(state: "authenticated").decrement() }
        if let grant {
            await context.slots.release(grant: grant.id, connection: connectionID)
        }
        if machine.isIdling { IMAPMetrics.idleSessions.decrement() }
        await connection.close()
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

    // MARK: - Effects

    private func outcome(of effect: SessionMachine.Effect) async -> SessionMachine.Outcome {
        switch effect {
        case .login(let tag, let account, let password):
            return await login(tag: tag, account: account, password: password)
        case .startTLS(let ok):
            do {
                try await connection.startTLS(ok: ok, encoder: encoder, context: context.tls)
                return .tlsStarted
            } catch {
                return .failed
            }
        case .startCompression(let ok):
            do {
                try await connection.startCompression(ok: ok, encoder: encoder)
                compressed = true
                IMAPMetrics.compressedSessions.increment()
                logger.debug("IMAP compression on")
                return .compressionStarted
            } catch {
                return .failed
            }
        case .command(let tagged):
            guard let grant else { return .failed }
            return .answered(await execute(tagged, grant: grant), commandName: tagged.command.name)
        case .append(let step):
            let (responses, commandName) = await appendStep(step)
            return .answered(responses, commandName: commandName)
        case .synchronize(let force):
            guard let grant else { return .synchronized([]) }
            do {
                if notify != nil { return .synchronized(try await notifyUpdates(grant, force: force)) }
                return .synchronized(try await synchronize(grant, force: force))
            } catch {
                logger.debug("change log unreadable", metadata: ["error": "\(error)"])
                return .synchronized(nil)
            }
        case .renewSlot:
            if let grant { await context.slots.renew(grant: grant.id, connection: connectionID) }
            return .done
        case .unauthenticate:
            if let grant {
                if let listenerToken { context.events.stopListening(grant: grant.id, token: listenerToken) }
                listenerToken = nil
                await context.slots.release(grant: grant.id, connection: connectionID)
                IMAPMetrics.connections(state: "authenticated").decrement()
                logger.info("IMAP unauthenticate")
            }
            loggedInGrant = nil
            selected = nil
            notify = nil
            notifyBaseline = [:]
            append = nil
            imap4rev2 = false
            condstore = false
            qresync = false
            encoder = ResponseEncoder()
            return .done
        case .checkCredentials:
            guard let grant else { return .credentials(.unknown) }
            let grants = context.grants
            if let current = try? await context.credentialChecks.grant(grant.id, now: context.clock.now(), read: { try await grants.grant(id: grant.id) }),
               current.credentialsVersion == grant.credentialsVersion {
                return .credentials(.unchanged)
            }
            // Changed, gone, or unreadable: only a store that answers can say it changed.
            return (try? await context.grants.ping()) != nil ? .credentials(.changed) : .credentials(.unknown)
        }
    }

    /// A command of the authenticated or selected state.
    private func execute(_ tagged: TaggedCommand, grant: Grant) async -> [Response] {
        let tag = tagged.tag
        func ok(_ text: String, code: ResponseCode? = nil) -> Response { .tagged(TaggedResponse(tag: tag, state: .ok, code: code, text)) }
        switch tagged.command {
        case .noop:
            // NOOP is how a client without IDLE polls (RFC 9051 6.1.2): report what changed.
            guard selected != nil else { return [ok("NOOP completed")] }
            let updates = (try? await tellSelectedChanges(grant, force: true)) ?? []
            return updates + [ok("NOOP completed")]
        case .enable(let names):
            // RFC 5161 3.1: the answer lists what this command enabled, in the order asked; names
            // unknown or already enabled are left out.
            var enabled: [String] = []
            var news: [Response] = []
            // CONDSTORE named beside QRESYNC was enabled by this command, whichever came first.
            let condstoreBefore = condstore
            for name in names {
                switch name.uppercased() {
                case "IMAP4REV2" where !imap4rev2:
                    imap4rev2 = true
                    encoder = ResponseEncoder(utf8Accepted: true)
                    // RFC 5161 3.1 asks clients to ENABLE before they select, and lets servers not check.
                    // A client that enables IMAP4rev2 with a mailbox selected gets no \Recent from then on.
                    selected?.forgetRecent()
                    enabled.append("IMAP4rev2")
                case "CONDSTORE" where !condstoreBefore && !enabled.contains("CONDSTORE"):
                    news += beginCondstore()
                    enabled.append("CONDSTORE")
                case "QRESYNC" where !qresync:
                    // QRESYNC includes CONDSTORE (RFC 7162 3.2.3).
                    qresync = true
                    news += beginCondstore()
                    enabled.append("QRESYNC")
                default:
                    break
                }
            }
            return [.untagged(.enabled(enabled))] + news + [ok("ENABLE completed")]
        case .namespace:
            return [.untagged(.namespace(personal: [NamespaceDescription(prefix: "", delimiter: "/")], otherUsers: [], shared: [])),
                    ok("NAMESPACE completed")]
        default:
            do {
                // FETCH, STORE and SEARCH by sequence number (and SORT and THREAD, which answer
                // with sequence numbers too) may not report expunges (RFC 9051 7.4.1), but they answer from the mailbox as it is now: other sessions' flag
                // changes and new messages are told first.
                var early: [Response] = []
                switch tagged.command {
                case .fetch, .store, .search, .sort, .thread: early = try await tellSelectedChanges(grant, allowExpunges: false)
                default: break
                }
                var responses = try await early + executeAuthenticated(tagged, grant: grant)
                // Report what other sessions changed, except where RFC 9051 7.4.1 forbids
                // EXPUNGE responses (FETCH, STORE, SEARCH, SORT, THREAD by sequence number).
                switch tagged.command {
                // NOTIFY SET told what changed itself (its implicit NOOP).
                case .fetch, .store, .search, .sort, .thread, .select, .examine, .close, .unselect, .logout, .notify: break
                default:
                    let updates = try await tellSelectedChanges(grant)
                    if var last = responses.popLast() {
                        // A HIGHESTMODSEQ in the tagged answer covers the updates sent before it.
                        if !updates.isEmpty, case .tagged(var tagged) = last, case .highestModSeq = tagged.text.code, let selected {
                            tagged.text.code = .highestModSeq(UInt64(max(selected.knownModseq, 0)))
                            last = .tagged(tagged)
                        }
                        responses += updates + [last]
                    }
                }
                return responses
            } catch let error as IMAPCommandError {
                return [error.response(tag: tag)]
            } catch let error as MailStoreError {
                return [IMAPCommandError(error).response(tag: tag)]
            } catch {
                logger.error("IMAP command failed", metadata: ["command": "\(tagged.command.name)", "error": "\(error)"])
                return [IMAPCommandError.unexpected(error).response(tag: tag)]
            }
        }
    }

    private func login(tag: String, account: String, password: String) async -> SessionMachine.Outcome {
        let client = await connection.clientAddress()
        clientAddress = client
        let outcome = await IMAPAuthenticator(context: context).authenticate(account: account, password: password, from: client)
        switch outcome {
        case .failure:
            logger.notice("IMAP login failed", metadata: ["account": "\(account)"])
            return .loginRefused(.tagged(TaggedResponse(tag: tag, state: .no, code: .authenticationFailed, "Authentication failed")))
        case .unavailable:
            return .loginRefused(.tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable, "Authentication is temporarily unavailable; try again")))
        case .elsewhere(let home):
            return await relay(tag: tag, account: account, password: password, to: home)
        case .success(let grant):
            switch await context.slots.acquire(grant: grant.id, connection: connectionID) {
            case .full:
                IMAPMetrics.limitRefusal("imap_connections_per_grant")
                return .loginRefused(.tagged(TaggedResponse(tag: tag, state: .no, code: .limit,
                                                            "Too many connections for this account (at most \(context.slots.limit))")))
            case .acquired, .unchecked:
                break
            }
            IMAPMetrics.connections(state: "authenticated").increment()
            if context.isClusterListener { IMAPMetrics.relayedInSessions.increment() }
            let inbox = self.inbox
            listenerToken = context.events.listen(grant: grant.id) { event in
                switch event {
                case .mailboxChanged(let folderID, let modseq): inbox.yield(.mailboxChanged(folderID: folderID, modseq: modseq))
                case .credentialsChanged: inbox.yield(.credentialsChanged)
                }
            }
            loggedInGrant = grant.id
            logger.info("IMAP login")
            return .loggedIn(grant)
        }
    }

    // MARK: - Authenticated and selected state

    private func executeAuthenticated(_ tagged: TaggedCommand, grant: Grant) async throws -> [Response] {
        let tag = tagged.tag
        func ok(_ text: String, code: ResponseCode? = nil) -> Response { .tagged(TaggedResponse(tag: tag, state: .ok, code: code, text)) }
        switch tagged.command {
        case .select(let mailbox, let parameters):
            return try await select(grant, mailbox, parameters, readOnly: false, tag: tag)
        case .examine(let mailbox, let parameters):
            return try await select(grant, mailbox, parameters, readOnly: true, tag: tag)
        case .create(let mailbox, let parameters):
            let id = try await create(grant, mailbox, parameters)
            await forgetOwnMailboxChanges(grant)
            return [ok("CREATE completed", code: .mailboxID(id))]
        case .delete(let mailbox):
            try await delete(grant, mailbox)
            await forgetOwnMailboxChanges(grant)
            return [ok("DELETE completed")]
        case .rename(let from, let to):
            try await rename(grant, from: from, to: to)
            await forgetOwnMailboxChanges(grant)
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
        case .getACL, .myRights, .listRights, .setACL, .deleteACL:
            return try await accessControl(grant, tagged.command, tag: tag)
        case .getMetadata, .setMetadata:
            return try await metadata(grant, tagged.command, tag: tag)
        case .notify(let command):
            return try await notify(grant, command, tag: tag)
        case .check:
            // RFC 3501 6.4.1: with no housekeeping to do, CHECK is a NOOP, and a NOOP polls.
            _ = try requireSelected()
            return try await tellSelectedChanges(grant, force: true) + [ok("CHECK completed")]
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
            return try await expunge(grant, uids: nil, tag: tag, name: "EXPUNGE")
        case .uidExpunge(let set):
            return try await expunge(grant, uids: set, tag: tag, name: "UID EXPUNGE")
        case .fetch(let command):
            return try await fetch(grant, command, byUID: false) + [ok("FETCH completed")]
        case .uidFetch(let command):
            return try await fetch(grant, command, byUID: true) + [ok("UID FETCH completed")]
        case .store(let command):
            return try await store(grant, command, byUID: false, tag: tag)
        case .uidStore(let command):
            return try await store(grant, command, byUID: true, tag: tag)
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
        case .sort(let command):
            return try await sort(grant, command, byUID: false, tag: tag) + [ok("SORT completed")]
        case .uidSort(let command):
            return try await sort(grant, command, byUID: true, tag: tag) + [ok("UID SORT completed")]
        case .thread(let command):
            return try await thread(grant, command, byUID: false) + [ok("THREAD completed")]
        case .uidThread(let command):
            return try await thread(grant, command, byUID: true) + [ok("UID THREAD completed")]
        default:
            throw IMAPCommandError(.bad, "\(tagged.command.name) is not valid in this state")
        }
    }

    // MARK: - APPEND

    /// One step of an APPEND; the command name comes with the answer that completes it.
    private func appendStep(_ step: ParseResult) async -> ([Response], String?) {
        switch step {
        case .appendStart(let tag, let mailbox):
            append = PendingAppend(tag: tag, mailbox: mailbox)
            return ([], nil)
        case .appendBeginMessage(let message):
            return await beginAppendMessage(message)
        case .appendData(var data):
            if append?.failure == nil, let bytes = data.readBytes(length: data.readableBytes) { append?.bytes += bytes }
            return ([], nil)
        case .appendEndMessage:
            await endAppendMessage()
            return ([], nil)
        case .appendFinish:
            return (await finishAppend(), "APPEND")
        default:
            return ([], nil)
        }
    }

    private func beginAppendMessage(_ message: AppendMessage) async -> ([Response], String?) {
        guard var pending = append else { return ([], nil) }
        guard let grant else {
            pending.failure = IMAPCommandError(.bad, "APPEND requires authentication")
            return await refuseAppend(pending, isSynchronizing: message.isSynchronizing)
        }
        if pending.failure == nil {
            do {
                pending.target = try await beginAppend(grant, pending.mailbox, size: message.size, isSynchronizing: message.isSynchronizing,
                                                       known: pending.target, heldBytes: pending.heldBytes)
            } catch let error as IMAPCommandError {
                pending.failure = error
            } catch {
                pending.failure = IMAPCommandError.unexpected(error)
            }
        }
        if pending.failure != nil { return await refuseAppend(pending, isSynchronizing: message.isSynchronizing) }
        pending.current = message
        pending.bytes = []
        pending.bytes.reserveCapacity(message.size)
        append = pending
        return ([], nil)
    }

    /// A synchronizing literal is refused before the client sends it; a LITERAL+ one is read and dropped.
    private func refuseAppend(_ pending: PendingAppend, isSynchronizing: Bool) async -> ([Response], String?) {
        if isSynchronizing, await connection.rejectPendingLiteral() {
            append = nil
            return ([(pending.failure ?? IMAPCommandError(.no, "APPEND failed")).response(tag: pending.tag)], "APPEND")
        }
        append = pending
        return ([], nil)
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
            let flags = if let selected, selected.folder.id == pending.target?.folderID { message.flags.map(selected.spelling(of:)) } else { message.flags }
            let facts = await MessageParsing.messageAndFacts(pending.bytes).facts
            pending.messages.append(NewMessage(
                raw: pending.bytes, facts: facts,
                flags: MessageFlags(imapFlags: flags), internalDate: message.internalDate?.secondsSince1970 ?? WallClock.unixSeconds()))
        }
        pending.bytes = []
        pending.current = nil
        append = pending
    }

    private func finishAppend() async -> [Response] {
        guard var pending = append else { return [] }
        append = nil
        let intoSelected = selected != nil && selected?.folder.id == pending.target?.folderID
        // A session that takes \Recent claims what it appends into its own mailbox in the same write.
        let claiming = intoSelected && selected?.readOnly == false && !imap4rev2
        if pending.failure == nil, let grant, let target = pending.target, !pending.messages.isEmpty {
            do {
                pending.results = try await context.store.append(grant: grant.id, folderID: target.folderID, messages: pending.messages,
                                                                 claimingRecent: claiming)
                context.contentCache.keepAppended(pending.messages, as: pending.results, grant: grant.id, folderID: target.folderID)
            } catch MailStoreError.overQuota(let limit) {
                IMAPMetrics.limitRefusal("quota")
                appendRefusedForQuota = true
                pending.failure = IMAPCommandError(.no, code: .overQuota, "Quota exceeded (limit \(limit) bytes)")
            } catch MailStoreError.noSuchFolder {
                // RFC 3501 6.3.11: a missing destination is answered TRYCREATE.
                pending.failure = IMAPCommandError(.no, code: .tryCreate, "No such mailbox; create it first")
            } catch let error as MailStoreError {
                pending.failure = IMAPCommandError(error)
            } catch {
                logger.error("APPEND failed", metadata: ["error": "\(error)"])
                pending.failure = IMAPCommandError.unexpected(error)
            }
        }
        if let failure = pending.failure { return [failure.response(tag: pending.tag)] }
        // The write claimed these: they are recent here whenever the session learns of them, even
        // if the read below fails (the next one then brings them).
        if pending.results.first?.claimedRecent == true {
            selected?.noteClaimed(uids: pending.results.filter { !$0.deduplicated }.map(\.uid))
        }
        var responses: [Response] = []
        if let folded = foldOwnAppend(pending, claiming: claiming) {
            responses = folded
        } else if let grant {
            // What it appended elsewhere leaves the selected mailbox as it was: only news from
            // other sessions is told then.
            responses = (try? await synchronize(grant, force: intoSelected)) ?? []
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
    func relay(tag: String, account: String, password: String, to home: Region) async -> SessionMachine.Outcome {
        guard let registry = context.registries[home] else {
            return .loginRefused(.tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable, "Region \(home) is not reachable from this node")))
        }
        // A connection this node decompresses (COMPRESS before UNAUTHENTICATE) cannot become a
        // byte relay: the other region would read compressed bytes as commands.
        if compressed {
            return .loginRefused(.tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable,
                                                        "This compressed connection cannot reach region \(home); open a new one")))
        }
        // A session relayed here is for this region's grants: relaying it on would let two nodes
        // that disagree on the grant's region pass it back and forth.
        guard let clusterTLS = context.clusterTLS, !context.isClusterListener else {
            return .loginRefused(.tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable, "Region \(home) is not reachable from this node")))
        }
        let upstream = IMAPUpstreamLogin(registry: registry, tls: clusterTLS.clientContext, clientAddress: await connection.clientAddress())
        switch await upstream.login(account: account, password: password, group: connection.channel.eventLoop) {
        case .refused:
            IMAPMetrics.authFailure(reason: "password")
            return .loginRefused(.tagged(TaggedResponse(tag: tag, state: .no, code: .authenticationFailed, "Authentication failed")))
        case .unavailable(let why):
            logger.warning("cannot relay to the home region", metadata: ["region": "\(home)", "reason": "\(why)"])
            return .loginRefused(.tagged(TaggedResponse(tag: tag, state: .no, code: .unavailable, "The account's region is unavailable; try again")))
        case .authenticated(let channel, _):
            do {
                try await connection.write(.tagged(TaggedResponse(tag: tag, state: .ok, "Logged in (served in region \(home))")), encoder: encoder)
                relay = try await connection.splice(to: channel)
                handedOff = true
                IMAPMetrics.relayedSessions.increment()
                logger.info("IMAP session relayed to its home region", metadata: ["region": "\(home)"])
            } catch {
                // The client may already have its OK: the only honest way on is to hang up.
                channel.close(promise: nil)
                await connection.close()
                handedOff = true
            }
            return .handedOff
        }
    }
}

extension IMAPSession {
    /// The session's own APPEND into its selected mailbox, folded into its view from the answer
    /// alone: when the write's modseq directly follows the last the session knows, nothing else
    /// changed in between (modseqs are handed out one grant at a time, in commit order), so the
    /// change log would tell only these messages. Nil when the change log must be read: another
    /// change came between, a message was already there, or `\Recent` could not be claimed here.
    func foldOwnAppend(_ pending: PendingAppend, claiming: Bool) -> [Response]? {
        // Decided in a closure of its own, so that no copy of the mailbox outlives it: the mailbox
        // is then changed where it lies (see `synchronize`).
        let fold: (changes: FolderChanges, recentBefore: Int)? = {
            guard let mailbox = selected, mailbox.folder.id == pending.target?.folderID, let first = pending.results.first,
                  pending.results.count == pending.messages.count,
                  pending.results.allSatisfy({ !$0.deduplicated && $0.modseq == first.modseq && $0.uid > mailbox.largestUID }),
                  first.modseq == mailbox.knownModseq + 1,
                  first.uidValidity == mailbox.folder.uidValidity,
                  // A read-only IMAP4rev1 session shows what no session claimed as recent: only a read tells.
                  claiming ? first.claimedRecent : imap4rev2 else { return nil }
            let added = zip(pending.results, pending.messages).map {
                MessageState(uid: $0.uid, messageID: $0.messageID, flags: $1.flags, modseq: $0.modseq)
            }.sorted { $0.uid < $1.uid }
            return (FolderChanges(uidValidity: mailbox.folder.uidValidity, uidNext: (added.last?.uid ?? 0) + 1,
                                  highestModseq: first.modseq, added: added, changed: [], expunged: []), mailbox.recentCount)
        }()
        guard let fold else { return nil }
        let responses = selected!.apply(fold.changes, reporting: changeReporting)
        return reportingRecent(responses, of: selected!, before: fold.recentBefore)
    }
}

/// The state of an APPEND between its first line and its end.
struct PendingAppend {
    let tag: String
    let mailbox: MailboxName
    /// Set by the first message.
    var target: AppendTarget?
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
