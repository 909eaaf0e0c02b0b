import IMAPGrammar
import MailCore

/// CONDSTORE and QRESYNC (RFC 7162): modseqs shown to the client, and what a client that was
/// away learns when it comes back.
extension IMAPSession {
    /// Turns CONDSTORE on for a command that uses it (or ENABLE). The first time, with a mailbox
    /// selected, the client is told the mailbox's HIGHESTMODSEQ (RFC 7162 3.1).
    func beginCondstore() -> [Response] {
        guard !condstore else { return [] }
        condstore = true
        guard let selected else { return [] }
        return [Self.highestModseq(selected.knownModseq)]
    }

    static func highestModseq(_ modseq: Int64) -> Response {
        .untagged(.ok(ResponseText(code: .highestModSeq(UInt64(max(modseq, 0))), text: "Highest")))
    }

    /// How this session tells changes: `VANISHED` once QRESYNC is enabled, `MODSEQ` once CONDSTORE is on.
    var changeReporting: SelectedMailbox.ChangeReporting {
        SelectedMailbox.ChangeReporting(vanished: qresync, modseq: condstore)
    }

    /// `VANISHED (EARLIER)`: the UIDs of `set` expunged after `modseq` (RFC 7162 3.2.5, 3.2.6), `*`
    /// standing for the highest UID the session knows the mailbox gave out. When the expunges after
    /// `modseq` were forgotten (older than the window), every UID of the set up to there that is not
    /// in the mailbox, as RFC 7162 3.2.5.2 allows. Nil when there is nothing to tell.
    ///
    /// Told against the session's view of the mailbox, not the store's newer one: a message the
    /// session still counts is not named (its VANISHED comes when the session learns of the
    /// expunge), and a message it has not learnt of yet is not taken for a gap.
    func vanishedEarlier(_ grant: Grant, in mailbox: SelectedMailbox, since modseq: Int64, within set: SequenceSet?) async throws -> Response? {
        let changes = try await context.store.changes(grant: grant.id, folderID: mailbox.folder.id, since: modseq)
        let upper = UInt32(clamping: max(mailbox.folder.uidNext - 1, 0))
        let ranges: [ClosedRange<UInt32>]
        if modseq >= changes.vanishedHorizon {
            let uids = changes.expunged.compactMap { UInt32(exactly: $0) }.filter { uid in
                mailbox.sequenceNumber(of: Int64(uid)) == nil && (set.map { $0.contains(uid, largest: upper) } ?? (uid <= upper))
            }
            ranges = SelectedMailbox.normalized(uids.map { $0...$0 })
        } else {
            ranges = mailbox.absentUIDs(upTo: upper, within: set)
        }
        guard !ranges.isEmpty else { return nil }
        return .untagged(.vanished(earlier: true, .ranges(ranges.map { SequenceRange($0) })))
    }

    /// SELECT/EXAMINE with QRESYNC (RFC 7162 3.2.5): what `UID FETCH known-uids (FLAGS)
    /// (CHANGEDSINCE modseq VANISHED)` would answer, the expunges first. Nothing when the
    /// UIDVALIDITY the client knew is not the mailbox's: it must start again.
    func quickResynchronization(_ grant: Grant, _ parameter: QResyncParameter, mailbox: SelectedMailbox,
                                messages: [MailboxSnapshot.Message]) async throws -> [Response] {
        guard Int64(parameter.uidValidity) == mailbox.folder.uidValidity else { return [] }
        let since = Int64(clamping: parameter.modSeq)
        var responses: [Response] = []
        if let vanished = try await vanishedEarlier(grant, in: mailbox, since: since, within: parameter.knownUIDs) {
            responses.append(vanished)
        }
        let upper = UInt32(clamping: max(mailbox.folder.uidNext - 1, 0))
        for message in messages where message.modseq > since {
            guard let uid = UInt32(exactly: message.uid), parameter.knownUIDs.map({ $0.contains(uid, largest: upper) }) ?? true,
                  let number = mailbox.sequenceNumber(of: message.uid) else { continue }
            responses.append(.untagged(.fetch(number, [.uid(uid), .flags(mailbox.fetchFlags(message.flags, uid: message.uid)),
                                                       .modSeq(UInt64(max(message.modseq, 0)))])))
        }
        return responses
    }
}
