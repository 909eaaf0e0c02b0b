import IMAPGrammar
import MailCore
import MailSearch

/// SEARCH and UID SEARCH (RFC 9051 6.4.4), with ESEARCH results when RETURN is given (RFC 4731)
/// and always under IMAP4rev2.
extension IMAPSession {
    /// An ESEARCH answer names the command's tag (RFC 4731 3.1), so that a client with several searches
    /// in flight can tell the answers apart.
    func search(_ grant: Grant, _ command: SearchCommand, byUID: Bool, tag: String) async throws -> [Response] {
        try await emptyingSavedResultOnFailure(saving: command.returnOptions) {
            try await searchAndSave(grant, command, byUID: byUID, tag: tag)
        }
    }

    /// RFC 5182 2.1: a SEARCH (or SORT) with SAVE that fails, for whatever reason, leaves `$` empty.
    func emptyingSavedResultOnFailure(saving options: [SearchReturnOption]?,
                                      _ body: () async throws -> [Response]) async throws -> [Response] {
        do {
            return try await body()
        } catch {
            if options?.contains(.save) == true, selected != nil { selected?.savedSearch = [] }
            throw error
        }
    }

    private func searchAndSave(_ grant: Grant, _ command: SearchCommand, byUID: Bool, tag: String) async throws -> [Response] {
        try checkSearchable(command)
        let withModseq = SearchEvaluator.mentionsModSeq(command.key)
        let early = withModseq ? beginCondstore() : []
        let found = try await matchingMessages(grant, command)
        var matches: [UInt32] = []
        var matchedUIDs: [UInt32] = []
        var modseqs: [UInt32: Int64] = [:]
        for candidate in found {
            matches.append(byUID ? candidate.uid : candidate.sequenceNumber)
            matchedUIDs.append(candidate.uid)
            if withModseq { modseqs[byUID ? candidate.uid : candidate.sequenceNumber] = candidate.modseq }
        }
        matches.sort()
        // IMAP4rev2 has no SEARCH response: a search without RETURN is answered as RETURN (ALL).
        // RFC 7162 3.1.5: with MODSEQ in the key, a non-empty answer ends with the highest modseq found.
        func highest(of found: [UInt32]) -> UInt64? {
            guard withModseq, let top = found.compactMap({ modseqs[$0] }).max() else { return nil }
            return UInt64(max(top, 0))
        }
        guard let options = command.returnOptions ?? (imap4rev2 ? [] : nil) else {
            return early + [.untagged(.search(matches, modSeq: highest(of: matches)))]
        }
        if options.contains(.save) {
            selected?.savedSearch = Self.savedResult(matchedUIDs.sorted(), options: options)
            // SAVE alone answers with nothing but the tagged OK (RFC 5182 2.4).
            if options.allSatisfy({ $0 == .save }) { return early }
        }
        let wanted = options.isEmpty ? [SearchReturnOption.all] : options
        var result = ESearchResponse(tag: tag, uid: byUID)
        if wanted.contains(.min) { result.min = matches.first }
        if wanted.contains(.max) { result.max = matches.last }
        if wanted.contains(.all), !matches.isEmpty { result.all = SequenceSet.compact(matches) }
        if wanted.contains(.count) { result.count = matches.count }
        // RFC 4731 3.2 by way of RFC 7162 3.1.10: MIN or MAX alone (or both) report the modseq of
        // the messages they name; any other option, the highest of all found.
        let onlyEnds = !wanted.contains(.all) && !wanted.contains(.count)
        result.modSeq = onlyEnds ? highest(of: [result.min, result.max].compactMap { $0 }) : highest(of: matches)
        return early + [.untagged(.esearch(result))]
    }

    /// Refuses, before anything else happens, a search without a selected mailbox, in a charset
    /// not supported, or with keys this session's protocol version lacks.
    func checkSearchable(_ command: SearchCommand) throws {
        _ = try requireSelected()
        if let charset = command.charset, !SearchEvaluator.isSupportedCharset(charset) {
            throw IMAPCommandError(.no, code: .badCharset(["UTF-8", "US-ASCII"]), "Unsupported charset")
        }
        if imap4rev2, SearchEvaluator.mentionsRecent(command.key) {
            throw IMAPCommandError(.bad, "RECENT, NEW and OLD are not search keys of IMAP4rev2")
        }
    }

    /// The messages of the selected mailbox that `command`'s key matches, in mailbox order, for
    /// SEARCH, SORT and THREAD alike.
    func matchingMessages(_ grant: Grant, _ command: SearchCommand) async throws -> [SearchCandidate] {
        try checkSearchable(command)
        let mailbox = try requireSelected()
        let needsRaw = SearchEvaluator.needsRaw(command.key)
        let messages = mailbox.count == 0 ? [] : try await context.store.fetch(grant: grant.id, folderID: mailbox.folder.id, uids: .all, includeRaw: needsRaw)
        let evaluator = SearchEvaluator(largestSequenceNumber: mailbox.count, largestUID: UInt32(truncatingIfNeeded: mailbox.largestUID),
                                        savedResult: mailbox.savedSearch)
        var found: [SearchCandidate] = []
        for (index, message) in messages.enumerated() {
            // Tasks run on the event loops: a long search lets the other connections of its loop in.
            if index % 64 == 63 { await Task.yield() }
            guard let number = mailbox.sequenceNumber(of: message.uid) else { continue }
            let candidate = SearchCandidate(
                sequenceNumber: number, uid: UInt32(truncatingIfNeeded: message.uid), flags: message.flags,
                internalDate: message.internalDate, size: message.size, modseq: message.modseq, facts: message.facts, raw: message.raw,
                recent: mailbox.isRecent(message.uid), emailID: message.id, threadID: message.threadID, savedDate: message.savedAt)
            if evaluator.matches(command.key, candidate) { found.append(candidate) }
        }
        return found.sorted { $0.sequenceNumber < $1.sequenceNumber }
    }

    /// What `SAVE` keeps (RFC 5182 2.4): with MIN and/or MAX and no other option, those messages;
    /// otherwise every message found.
    static func savedResult(_ uids: [UInt32], options: [SearchReturnOption]) -> [UInt32] {
        let others = options.filter { $0 != .save }
        guard !others.isEmpty, others.allSatisfy({ $0 == .min || $0 == .max }) else { return uids }
        var saved: [UInt32] = []
        if others.contains(.min), let first = uids.first { saved.append(first) }
        if others.contains(.max), let last = uids.last, saved.last != last { saved.append(last) }
        return saved
    }
}
