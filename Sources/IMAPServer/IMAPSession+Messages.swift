import IMAPGrammar
import MIME
import MailCore
import NIOCore

/// Message-level commands of the selected state (RFC 9051 6.4): FETCH, STORE, COPY, MOVE,
/// EXPUNGE, SEARCH.
extension IMAPSession {
    func requireSelected() throws(IMAPCommandError) -> SelectedMailbox {
        guard let selected else { throw IMAPCommandError(.bad, "No mailbox selected") }
        return selected
    }

    func requireWritable() throws(IMAPCommandError) -> SelectedMailbox {
        let mailbox = try requireSelected()
        guard !mailbox.readOnly else { throw IMAPCommandError(.no, code: .readOnly, "Mailbox is read-only") }
        return mailbox
    }

    /// Tells the client what changed elsewhere since it last heard (the points RFC 9051 7.4 allows).
    /// Without `force`, the change log is read only when an announcement said the mailbox changed
    /// since the last read, or when announcements may be lost (the bus is unhealthy); after the
    /// session's own writes, and when the client polls (NOOP, IDLE), it is read in any case.
    ///
    /// Without `allowExpunges` (before FETCH, STORE, SEARCH), changes that include an expunge are
    /// left whole for a later command, and `selectedMailboxChanged` stays set.
    func synchronize(_ grant: Grant, force: Bool = false, allowExpunges: Bool = true) async throws -> [Response] {
        guard force || selectedMailboxChanged || !context.events.isHealthy else { return [] }
        // What the read needs, taken in a scope of its own: the mailbox is then changed where it
        // lies, never through a second reference that would copy its whole UID map.
        let folderID: String, knownModseq: Int64, readOnly: Bool
        do {
            guard let mailbox = selected else { return [] }
            (folderID, knownModseq, readOnly) = (mailbox.folder.id, mailbox.knownModseq, mailbox.readOnly)
        }
        // A session that takes \Recent flags claims them in the read that tells it of new mail;
        // a read whose changes may be left for later claims nothing (the claim follows on its own).
        let claiming = !readOnly && !imap4rev2 && allowExpunges
        var changes = try await context.store.changes(grant: grant.id, folderID: folderID, since: knownModseq,
                                                      claimingRecent: claiming)
        guard let largestBefore = selected?.largestUID else { return [] }
        if changes.vanishedHorizon > knownModseq {
            // Expunges this session has not heard of may be forgotten (older than the window): the
            // mailbox's UIDs now tell which of the messages it knows are gone.
            let present = Set(try await context.store.snapshot(grant: grant.id, folderID: folderID).messages.map(\.uid))
            let gone = (selected?.uids(forUIDSet: .ranges([SequenceRange(.number(1), .last)])) ?? []).filter { !present.contains($0) }
            changes.expunged = Array(Set(changes.expunged).union(gone)).sorted()
        }
        // Only a message the client knows needs an EXPUNGE; one that came and went meanwhile does not.
        if !allowExpunges, changes.expunged.contains(where: { selected?.sequenceNumber(of: $0) != nil }) {
            selectedMailboxChanged = true
            return []
        }
        selectedMailboxChanged = false
        guard !changes.isEmpty || changes.highestModseq > knownModseq,
              let largestAfter = selected?.largestUID(applying: changes) else { return [] }
        // Which arrivals are recent here is settled before the view changes: a read that fails
        // then leaves the view as it was, and the changes are told by a later command.
        var recentFrom: Int64?
        if largestAfter > largestBefore, !imap4rev2 {
            recentFrom = claiming
                ? changes.firstClaimedRecent
                : try await recentStart(grant, folderID: folderID, readOnly: readOnly, through: largestAfter, after: largestBefore)
        }
        let recentBefore = selected!.recentCount
        let responses = selected!.apply(changes, reporting: changeReporting)
        if let recentFrom { selected!.markRecent(from: recentFrom) }
        return reportingRecent(responses, of: selected!, before: recentBefore)
    }

    /// RFC 3501 7.3.2: RECENT follows a change of the mailbox's size, new mail or an expunge that
    /// took recent messages away. It goes after EXISTS, or after the last EXPUNGE when nothing arrived.
    func reportingRecent(_ responses: [Response], of mailbox: SelectedMailbox, before recentBefore: Int) -> [Response] {
        guard !imap4rev2 else { return responses }
        let exists = responses.firstIndex { if case .untagged(.exists) = $0 { true } else { false } }
        guard exists != nil || mailbox.recentCount != recentBefore else { return responses }
        let lastExpunge = responses.lastIndex {
            switch $0 {
            case .untagged(.expunge), .untagged(.vanished(earlier: false, _)): true
            default: false
            }
        }
        guard let anchor = exists ?? lastExpunge else { return responses }
        var output = responses
        output.insert(.untagged(.recent(UInt32(mailbox.recentCount))), at: anchor + 1)
        return output
    }

    /// New messages from `after` on are recent in this session when it claims them first (RFC 3501
    /// 2.3.2); a read-only session sees those no session has claimed as recent, without taking the flag.
    func takeRecent(_ grant: Grant, _ mailbox: inout SelectedMailbox, after: Int64, firstUnclaimed: Int64? = nil) async throws {
        if let first = try await recentStart(grant, folderID: mailbox.folder.id, readOnly: mailbox.readOnly,
                                             through: mailbox.largestUID, after: after, firstUnclaimed: firstUnclaimed) {
            mailbox.markRecent(from: first)
        }
    }

    /// The first UID, after `after`, from which messages up to `largest` are recent in this
    /// session: those it claims now, or for a read-only session those no session claimed. Nil
    /// when none is.
    func recentStart(_ grant: Grant, folderID: String, readOnly: Bool, through largest: Int64, after: Int64,
                     firstUnclaimed: Int64? = nil) async throws -> Int64? {
        guard readOnly else { return try await context.store.claimRecent(grant: grant.id, folderID: folderID, through: largest) }
        var unclaimed = firstUnclaimed
        if unclaimed == nil { unclaimed = try await context.store.folder(grant: grant.id, id: folderID)?.firstRecentUID }
        return unclaimed.map { max(after + 1, $0) }
    }

    func resolve(_ set: SequenceSet, byUID: Bool) throws(IMAPCommandError) -> [Int64] {
        let mailbox = try requireSelected()
        if byUID { return mailbox.uids(forUIDSet: set) }
        guard mailbox.isValidSequenceSet(set) else {
            throw IMAPCommandError(.bad, "Invalid message sequence number: the mailbox has \(mailbox.count) messages")
        }
        return mailbox.uids(forSequenceSet: set)
    }

    // MARK: FETCH

    func fetch(_ grant: Grant, _ command: FetchCommand, byUID: Bool) async throws -> [Response] {
        var mailbox = try requireSelected()
        var changedSince: Int64?
        var reportsVanished = false
        for modifier in command.modifiers {
            switch modifier {
            case .changedSince(let modseq): changedSince = Int64(clamping: modseq)
            case .vanished: reportsVanished = true
            }
        }
        if reportsVanished {
            // RFC 7162 3.2.6: only UID FETCH, only with CHANGEDSINCE, only once QRESYNC is enabled.
            guard byUID else { throw IMAPCommandError(.bad, "VANISHED is a modifier of UID FETCH only") }
            guard qresync else { throw IMAPCommandError(.bad, "VANISHED needs QRESYNC enabled first (ENABLE QRESYNC)") }
            guard changedSince != nil else { throw IMAPCommandError(.bad, "VANISHED needs CHANGEDSINCE") }
        }
        let uids = try resolve(command.sequenceSet, byUID: byUID)
        var early: [Response] = []
        if changedSince != nil || command.attributes.contains(.modSeq) { early = beginCondstore() }
        // The expunges come before any FETCH (RFC 7162 3.2.6).
        if reportsVanished, let since = changedSince,
           let vanished = try await vanishedEarlier(grant, in: mailbox, since: since, within: command.sequenceSet) {
            early.append(vanished)
        }
        guard !uids.isEmpty else { return early }
        return try await early + fetch(grant, command, uids: uids, mailbox: &mailbox, byUID: byUID, changedSince: changedSince)
    }

    private func fetch(_ grant: Grant, _ command: FetchCommand, uids: [Int64], mailbox: inout SelectedMailbox, byUID: Bool,
                       changedSince: Int64?) async throws -> [Response] {
        var attributes = command.attributes
        if byUID && !attributes.contains(.uid) { attributes.insert(.uid, at: 0) }
        // CHANGEDSINCE implies MODSEQ (RFC 7162 3.1.4.1).
        if changedSince != nil && !attributes.contains(.modSeq) { attributes.append(.modSeq) }
        let needsRaw = attributes.contains { attribute in
            switch attribute {
            case .rfc822, .rfc822Header, .rfc822Text, .body, .binary, .binarySize: true
            default: false
            }
        }
        // UID and FLAGS are what the session already knows (kept current by its own writes and by
        // `synchronize`): answered from its own map, as a server answers them from its index. Not
        // while changes it could not take yet (they hold an expunge) wait: then the store answers.
        let mapIsCurrent = !selectedMailboxChanged
        if attributes.allSatisfy({ $0 == .uid || $0 == .flags }) {
            // While changes wait, flags come from the store; a message expunged meanwhile still
            // exists for this session until it is told (RFC 2180 4.1.3), with the flags it knew.
            var stored: [Int64: MessageFlags] = [:]
            if !mapIsCurrent {
                for message in try await context.store.fetch(grant: grant.id, folderID: mailbox.folder.id, uids: UIDSet(uids: uids),
                                                             includeRaw: false) {
                    stored[message.uid] = message.flags
                }
            }
            return uids.compactMap { uid in
                guard let number = mailbox.sequenceNumber(of: uid), let flags = stored[uid] ?? mailbox.flags(of: uid) else { return nil }
                let values: [FetchValue] = attributes.map { $0 == .uid ? .uid(UInt32(truncatingIfNeeded: uid)) : .flags(mailbox.fetchFlags(flags, uid: uid)) }
                return .untagged(.fetch(number, values))
            }
        }
        // Setting \Seen must start from the flags as stored, which the session's view may lag.
        let setsSeen = !mailbox.readOnly && attributes.contains(where: \.setsSeen)
        var messages = try await messagesToFetch(grant, uids, in: mailbox, needsRaw: needsRaw,
                                                 needsStoredState: setsSeen || attributes.contains(.modSeq) || !mapIsCurrent)
        if let changedSince { messages.removeAll { $0.modseq <= changedSince } }
        // Reading a body without PEEK sets \Seen (RFC 9051 6.4.5), and the FETCH reports the new flags.
        if setsSeen {
            let unseen = messages.filter { !$0.flags.isSeen }.map(\.uid)
            if !unseen.isEmpty {
                let result = try await context.store.storeFlags(grant: grant.id, folderID: mailbox.folder.id, uids: UIDSet(uids: unseen),
                                                                operation: .add([MessageFlags.seen]), unchangedSince: nil)
                mailbox.record(result.changed)
                selected = mailbox
                let updated = Dictionary(uniqueKeysWithValues: result.changed.map { ($0.uid, $0) })
                for index in messages.indices {
                    if let state = updated[messages[index].uid] {
                        messages[index].flags = state.flags
                        messages[index].modseq = state.modseq
                    }
                }
                if !attributes.contains(.flags) { attributes.append(.flags) }
                // A flag change told to a client with CONDSTORE carries UID and MODSEQ (RFC 7162 3.2.4).
                if condstore {
                    if !attributes.contains(.uid) { attributes.insert(.uid, at: 0) }
                    if !attributes.contains(.modSeq) { attributes.append(.modSeq) }
                }
            }
        }
        var responses: [Response] = []
        for (index, message) in messages.enumerated() {
            // Tasks run on the event loops: a long FETCH lets the other connections of its loop in.
            if index % 64 == 63 { await Task.yield() }
            guard let number = mailbox.sequenceNumber(of: message.uid) else { continue }
            let parsed = message.raw.map { MIMEMessage(parsing: $0) }
            var values: [FetchValue] = []
            for attribute in attributes {
                if let value = try fetchValue(attribute, message, parsed) { values.append(value) }
            }
            responses.append(.untagged(.fetch(number, values)))
        }
        return responses
    }

    /// The messages of `uids`, their content from the node's cache where it has it (with the
    /// flags this session knows), the rest read from the store and kept. A FETCH that needs the
    /// stored state (MODSEQ, which the session does not track, or the flags a body read adds
    /// `\Seen` to) reads everything from the store.
    private func messagesToFetch(_ grant: Grant, _ uids: [Int64], in mailbox: SelectedMailbox, needsRaw: Bool,
                                 needsStoredState: Bool) async throws -> [StoredMessage] {
        let folderID = mailbox.folder.id
        guard !needsStoredState else {
            return try await context.store.fetch(grant: grant.id, folderID: folderID, uids: UIDSet(uids: uids), includeRaw: needsRaw)
        }
        let cache = context.contentCache
        let (found, missing) = cache.lookUp(grant: grant.id, folderID: folderID, uids: uids, needsRaw: needsRaw)
        IMAPMetrics.contentCacheHits.increment(by: Int64(found.count))
        guard !missing.isEmpty else {
            return uids.compactMap { uid in found[uid].map { Self.withFlags($0, from: mailbox) } }
        }
        IMAPMetrics.contentCacheMisses.increment(by: Int64(missing.count))
        let read = try await context.store.fetch(grant: grant.id, folderID: folderID, uids: UIDSet(uids: missing), includeRaw: needsRaw)
        cache.insert(read)
        guard !found.isEmpty else { return read }
        let readByUID = Dictionary(read.map { ($0.uid, $0) }, uniquingKeysWith: { first, _ in first })
        return uids.compactMap { uid in readByUID[uid] ?? found[uid].map { Self.withFlags($0, from: mailbox) } }
    }

    private static func withFlags(_ message: StoredMessage, from mailbox: SelectedMailbox) -> StoredMessage {
        var message = message
        if let flags = mailbox.flags(of: message.uid) { message.flags = flags }
        return message
    }

    private func fetchValue(_ attribute: FetchAttribute, _ message: StoredMessage, _ parsed: MIMEMessage?) throws -> FetchValue? {
        func buffer(_ bytes: some Collection<UInt8>) -> ByteBuffer { ByteBuffer(bytes: bytes) }
        switch attribute {
        case .uid: return .uid(UInt32(truncatingIfNeeded: message.uid))
        case .flags: return .flags(selected?.fetchFlags(message.flags, uid: message.uid) ?? message.flags.imapFlags)
        case .internalDate: return .internalDate(IMAPDateTime(secondsSince1970: message.internalDate))
        case .saveDate: return .saveDate(IMAPDateTime(secondsSince1970: message.savedAt))
        case .rfc822Size: return .rfc822Size(Int(message.size))
        case .envelope: return .envelope(WireText(StoredBytes.wireBytes(message.facts.envelope)))
        case .bodyStructure(let extensible):
            return .bodyStructure(WireText(StoredBytes.wireBytes(extensible ? message.facts.bodyStructure : message.facts.body)), extensible: extensible)
        case .modSeq: return .modSeq(UInt64(message.modseq))
        case .emailID: return .emailID(message.id)
        case .threadID: return .threadID(message.threadID.isEmpty ? nil : message.threadID)
        // The API's snippet, stored with the message: no work to put off for LAZY. At most 256
        // characters (RFC 8970 3.1); an empty one is NIL, no text to show.
        case .preview: return .preview(message.facts.snippet.isEmpty ? nil : String(message.facts.snippet.prefix(256)))
        case .rfc822:
            return .rfc822(message.raw.map(buffer))
        case .rfc822Header:
            return .rfc822Header(parsed?.bytes(for: SectionSpec(path: [], text: .header)).map(buffer))
        case .rfc822Text:
            return .rfc822Text(parsed?.bytes(for: SectionSpec(path: [], text: .text)).map(buffer))
        case .body(let section, let partial, _):
            guard let parsed else { return .body(section: section, origin: nil, data: nil) }
            let data = parsed.bytes(for: Self.sectionSpec(section)) ?? []
            if let partial {
                let range = partial.clamped(toSize: data.count)
                let start = data.startIndex
                return .body(section: section, origin: partial.offset, data: buffer(data[(start + range.lowerBound)..<(start + range.upperBound)]))
            }
            return .body(section: section, origin: nil, data: buffer(data))
        case .binary(let section, let partial, _):
            guard let parsed, let binary = Self.binarySection(section, of: parsed) else {
                throw IMAPCommandError(.no, code: .nonExistent, "No such section")
            }
            let data = try Self.binaryContent(binary)
            if let partial {
                let range = partial.clamped(toSize: data.count)
                return .binary(section: section, origin: partial.offset, data: buffer(data[range]))
            }
            return .binary(section: section, origin: nil, data: buffer(data))
        case .binarySize(let section):
            guard let parsed, let binary = Self.binarySection(section, of: parsed) else {
                throw IMAPCommandError(.no, code: .nonExistent, "No such section")
            }
            return .binarySize(section: section, size: try Self.binaryContent(binary).count)
        }
    }

    /// A part's content decoded; its HEADER, TEXT or MIME header as stored (they have no transfer
    /// encoding of their own).
    private static func binarySection(_ section: SectionSpecifier, of message: MIMEMessage) -> BinarySection? {
        guard section.kind != .complete else { return message.binary(section: section.part) }
        return message.bytes(for: sectionSpec(section)).map { .content(Array($0)) }
    }

    private static func binaryContent(_ section: BinarySection) throws(IMAPCommandError) -> [UInt8] {
        switch section {
        case .content(let data): return data
        case .unknownEncoding: throw IMAPCommandError(.no, code: .unknownCTE, "Unknown transfer encoding")
        case .notALeaf: throw IMAPCommandError(.no, "BINARY reads single parts, not a multipart")
        }
    }

    static func sectionSpec(_ section: SectionSpecifier) -> SectionSpec {
        switch section.kind {
        case .complete: SectionSpec(path: section.part, text: nil)
        case .header: SectionSpec(path: section.part, text: .header)
        case .headerFields(let names): SectionSpec(path: section.part, text: .headerFields(names))
        case .headerFieldsNot(let names): SectionSpec(path: section.part, text: .headerFieldsNot(names))
        case .text: SectionSpec(path: section.part, text: .text)
        case .mime: SectionSpec(path: section.part, text: .mime)
        }
    }

    // MARK: STORE

    func store(_ grant: Grant, _ command: StoreCommand, byUID: Bool, tag: String) async throws -> [Response] {
        let name = byUID ? "UID STORE" : "STORE"
        // The selected mailbox is read in a scope of its own, so that no second reference to its
        // arrays is held when the write is recorded in place (a copy of the whole UID map).
        let folderID: String
        let flags: MessageFlags
        do {
            let mailbox = try requireWritable()
            folderID = mailbox.folder.id
            flags = MessageFlags(imapFlags: command.flags.flags.map(mailbox.spelling(of:)))
        }
        let uids = try resolve(command.sequenceSet, byUID: byUID)
        var unchangedSince: Int64?
        for modifier in command.modifiers {
            if case .unchangedSince(let value) = modifier { unchangedSince = Int64(clamping: value) }
        }
        let early = unchangedSince == nil ? [] : beginCondstore()
        guard !uids.isEmpty else { return early + [.tagged(TaggedResponse(tag: tag, state: .ok, "\(name) completed"))] }
        let operation: FlagOperation = switch command.flags.operation {
        case .add: .add(flags)
        case .remove: .remove(flags)
        case .replace: .replace(flags)
        }
        let result = try await context.store.storeFlags(grant: grant.id, folderID: folderID, uids: UIDSet(uids: uids),
                                                        operation: operation, unchangedSince: unchangedSince)
        var reported = result.changed
        if unchangedSince != nil {
            // A message that passed the condition but already had the flags is still told, with its
            // modseq, so the client knows where it stands (RFC 7162 3.1.3).
            let settled = Set(result.changed.map(\.uid)).union(result.failedCondition)
            let passed = uids.filter { !settled.contains($0) }
            if !passed.isEmpty {
                let current = try await context.store.fetch(grant: grant.id, folderID: folderID, uids: UIDSet(uids: passed),
                                                            includeRaw: false)
                reported += current.map { MessageState(uid: $0.uid, messageID: $0.id, flags: $0.flags, modseq: $0.modseq) }
                reported.sort { $0.uid < $1.uid }
            }
        }
        // Recorded once nothing can fail any more: a failed command leaves the changes to be read.
        selected?.record(result.changed)
        let mailbox = try requireSelected()
        var responses = early
        for state in reported {
            guard let number = mailbox.sequenceNumber(of: state.uid) else { continue }
            let uid = FetchValue.uid(UInt32(truncatingIfNeeded: state.uid))
            let flags = FetchValue.flags(mailbox.fetchFlags(state.flags, uid: state.uid))
            if condstore {
                // With CONDSTORE every change is told, .SILENT or not, with UID and MODSEQ (RFC 7162
                // 3.1.3, 3.2.4); .SILENT only leaves the flags out.
                responses.append(.untagged(.fetch(number, command.flags.silent ? [uid, .modSeq(UInt64(max(state.modseq, 0)))]
                                                                                : [uid, flags, .modSeq(UInt64(max(state.modseq, 0)))])))
            } else if !command.flags.silent {
                responses.append(.untagged(.fetch(number, byUID ? [uid, flags] : [flags])))
            }
        }
        guard !result.failedCondition.isEmpty else {
            return responses + [.tagged(TaggedResponse(tag: tag, state: .ok, "\(name) completed"))]
        }
        // RFC 7162 3.1.3: the messages left alone, by UID for UID STORE and by number otherwise.
        let failed = result.failedCondition.compactMap { uid in
            byUID ? UInt32(exactly: uid) : mailbox.sequenceNumber(of: uid)
        }
        return responses + [.tagged(TaggedResponse(tag: tag, state: .ok, code: .modified(.compact(failed)), "Conditional STORE failed"))]
    }

    // MARK: COPY, MOVE, EXPUNGE

    func copyOrMove(_ grant: Grant, _ set: SequenceSet, to destination: MailboxName, byUID: Bool, move: Bool, tag: String) async throws -> [Response] {
        let mailbox = move ? try requireWritable() : try requireSelected()
        let uids = try resolve(set, byUID: byUID)
        let target: MailFolder
        do {
            target = try await lookUpFolder(grant, destination)
        } catch let error as IMAPCommandError where error.code == .nonExistent {
            throw IMAPCommandError(.no, code: .tryCreate, "No such mailbox; create it first")
        }
        let name = move ? "MOVE" : "COPY"
        guard !uids.isEmpty else { return [.tagged(TaggedResponse(tag: tag, state: .ok, "\(name) completed: nothing to do"))] }
        let mapping = move
            ? try await context.store.move(grant: grant.id, from: mailbox.folder.id, uids: UIDSet(uids: uids), to: target.id)
            : try await context.store.copy(grant: grant.id, from: mailbox.folder.id, uids: UIDSet(uids: uids), to: target.id)
        let code = ResponseCode.copyUID(
            uidValidity: UInt32(truncatingIfNeeded: mapping.destinationUIDValidity),
            source: SequenceSet.compact(mapping.sourceUIDs.map { UInt32(truncatingIfNeeded: $0) }),
            destination: SequenceSet.compact(mapping.destinationUIDs.map { UInt32(truncatingIfNeeded: $0) }))
        guard move else { return [.tagged(TaggedResponse(tag: tag, state: .ok, code: code, "COPY completed"))] }
        // RFC 6851: COPYUID comes untagged before the EXPUNGE responses.
        var responses: [Response] = [.untagged(.ok(ResponseText(code: code, text: "Moved")))]
        responses += try await synchronize(grant, force: true)
        // With QRESYNC, a MOVE that took messages away says the modseq the mailbox is now at (RFC 6851 4.4).
        let highest: ResponseCode? = qresync && !mapping.sourceUIDs.isEmpty
            ? .highestModSeq(UInt64(max(selected?.knownModseq ?? 0, 0))) : nil
        responses.append(.tagged(TaggedResponse(tag: tag, state: .ok, code: highest, "MOVE completed")))
        return responses
    }

    /// The seed: outside Trash the expunged messages move to Trash; in Trash they are deleted.
    func expunge(_ grant: Grant, uids set: SequenceSet?, tag: String, name: String) async throws -> [Response] {
        let done = try await expunge(grant, uids: set)
        // With QRESYNC, an expunge that removed messages says the modseq the mailbox is now at (RFC 7162 3.2.7).
        let highest: ResponseCode? = qresync && done.removedAny ? .highestModSeq(UInt64(max(selected?.knownModseq ?? 0, 0))) : nil
        return done.responses + [.tagged(TaggedResponse(tag: tag, state: .ok, code: highest, "\(name) completed"))]
    }

    private func expunge(_ grant: Grant, uids set: SequenceSet?) async throws -> (responses: [Response], removedAny: Bool) {
        var uids: UIDSet?
        let folderID: String
        do {
            let mailbox = try requireWritable()
            folderID = mailbox.folder.id
            if let set {
                let resolved = mailbox.uids(forUIDSet: set)
                guard !resolved.isEmpty else { return ([], false) }
                uids = UIDSet(uids: resolved)
            }
        }
        let result = try await context.store.expunge(grant: grant.id, folderID: folderID, uids: uids)
        // When the expunge's modseq directly follows the last one the session knows, nothing else
        // changed in between (see `SelectedMailbox.record`): the session reports its own expunges
        // without reading the change log.
        let ownExpunges: (changes: FolderChanges, recentBefore: Int)? = {
            guard let known = selected, let modseq = result.modseq, modseq == known.knownModseq + 1 else { return nil }
            return (FolderChanges(uidValidity: known.folder.uidValidity, uidNext: known.folder.uidNext, highestModseq: modseq,
                                  added: [], changed: [], expunged: result.expunged), known.recentCount)
        }()
        if let ownExpunges {
            // Changed where it lies (see `synchronize`).
            let responses = selected!.apply(ownExpunges.changes, reporting: changeReporting)
            return (reportingRecent(responses, of: selected!, before: ownExpunges.recentBefore), !result.expunged.isEmpty)
        }
        return (try await synchronize(grant, force: true), !result.expunged.isEmpty)
    }

    // MARK: APPEND

    /// Where an APPEND's messages go, and the quota they are checked against before their bytes.
    ///
    /// Every grant is made with the six system folders, which can be neither renamed nor deleted,
    /// and names are unique in a grant: so a system folder's IMAP name always means its fixed id.
    /// A non-synchronizing literal into one (the client sends the bytes without waiting for an
    /// answer, so an early refusal saves it nothing) needs no lookup, and the store checks the
    /// quota in the transaction that commits the message. Otherwise the folder and the quota are
    /// looked up for the first message; a MULTIAPPEND's later messages reuse them, counting the
    /// bytes already held (the store checks the quota again when it commits them). A later
    /// synchronizing literal after one that went unchecked is looked up then, and once the store
    /// refused an APPEND of this session for the quota, every APPEND is looked up before its bytes:
    /// a client that keeps retrying is refused by a read, not by a parse and a write each time.
    func beginAppend(_ grant: Grant, _ mailbox: MailboxName, size: Int, isSynchronizing: Bool, known: AppendTarget?, heldBytes: Int)
        async throws -> AppendTarget {
        let target: AppendTarget
        if let known, known.quota != nil || !isSynchronizing {
            target = known
        } else {
            let name = try folderName(mailbox)
            if !isSynchronizing, !appendRefusedForQuota, let system = SystemFolder.allCases.first(where: { $0.imapName == name }) {
                target = AppendTarget(folderID: system.apiID, quota: nil)
            } else if let (folder, quota) = try await context.store.appendTarget(grant: grant.id, name: name) {
                target = AppendTarget(folderID: folder.id, quota: quota)
            } else {
                throw IMAPCommandError(.no, code: .tryCreate, "No such mailbox; create it first")
            }
        }
        if let usage = target.quota, usage.usedBytes + Int64(heldBytes) + Int64(size) > usage.limitBytes {
            IMAPMetrics.limitRefusal("quota")
            throw IMAPCommandError(.no, code: .overQuota, "Quota exceeded (limit \(usage.limitBytes) bytes)")
        }
        return target
    }
}

/// The folder an APPEND writes into and, when it was read before the message bytes, the quota.
struct AppendTarget {
    var folderID: String
    /// nil: not read; the store checks the quota when it commits.
    var quota: QuotaUsage?
}
