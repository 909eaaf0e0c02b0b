import IMAPGrammar
import MailCore

/// What a session knows of its selected mailbox: the message sequence (UIDs in order), their
/// flags, and the modseq up to which it has told the client. Changes made elsewhere are folded
/// in by `apply`, which returns the untagged responses RFC 9051 7.4 asks for, in order.
struct SelectedMailbox {
    var folder: MailFolder
    let readOnly: Bool
    private(set) var uids: [Int64]
    private(set) var flags: [Int64: MessageFlags]
    private(set) var knownModseq: Int64

    init(snapshot: MailboxSnapshot, readOnly: Bool) {
        folder = snapshot.folder
        self.readOnly = readOnly
        uids = snapshot.messages.map(\.uid)
        flags = Dictionary(uniqueKeysWithValues: snapshot.messages.map { ($0.uid, $0.flags) })
        knownModseq = snapshot.folder.highestModseq
    }

    var count: UInt32 { UInt32(uids.count) }
    var largestUID: Int64 { uids.last ?? 0 }

    func flags(of uid: Int64) -> MessageFlags? { flags[uid] }

    func sequenceNumber(of uid: Int64) -> UInt32? {
        var low = 0, high = uids.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if uids[middle] == uid { return UInt32(middle + 1) }
            if uids[middle] < uid { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    /// The UIDs a sequence set names (message numbers, `*` = the last message).
    func uids(forSequenceSet set: SequenceSet) -> [Int64] {
        guard !uids.isEmpty else { return [] }
        return (1...count).filter { set.contains($0, largest: count) }.map { uids[Int($0) - 1] }
    }

    /// The UIDs of this mailbox a UID set names; `*` is the largest UID (RFC 9051 6.4.9: a range
    /// like `5:*` includes the last message even when its UID is below 5).
    func uids(forUIDSet set: SequenceSet) -> [Int64] {
        guard let largest = uids.last else { return [] }
        return uids.filter { set.contains(UInt32(truncatingIfNeeded: $0), largest: UInt32(truncatingIfNeeded: largest)) }
    }

    /// Folds in what changed elsewhere. Expunges come first (each with the sequence number it
    /// has at that moment), then the new count, then flag changes.
    mutating func apply(_ changes: FolderChanges, reportFlags: Bool = true) -> [Response] {
        var responses: [Response] = []
        for uid in changes.expunged.sorted(by: >) {
            guard let number = sequenceNumber(of: uid) else { continue }
            uids.remove(at: Int(number) - 1)
            flags[uid] = nil
            responses.append(.untagged(.expunge(number)))
        }
        let added = changes.added.filter { $0.uid > largestUID }.sorted { $0.uid < $1.uid }
        for message in added {
            uids.append(message.uid)
            flags[message.uid] = message.flags
        }
        if !added.isEmpty { responses.append(.untagged(.exists(count))) }
        for message in changes.changed {
            guard let number = sequenceNumber(of: message.uid), flags[message.uid] != message.flags else { continue }
            flags[message.uid] = message.flags
            if reportFlags {
                responses.append(.untagged(.fetch(number, [.uid(UInt32(truncatingIfNeeded: message.uid)), .flags(message.flags.imapFlags)])))
            }
        }
        knownModseq = max(knownModseq, changes.highestModseq)
        folder.uidNext = changes.uidNext
        folder.highestModseq = max(folder.highestModseq, changes.highestModseq)
        return responses
    }

    /// Records flags this session itself just set (its own FETCH responses already told the client).
    mutating func record(_ states: [MessageState]) {
        for state in states where flags[state.uid] != nil { flags[state.uid] = state.flags }
    }
}

extension MessageFlags {
    var imapFlags: [Flag] { names.map { Flag(wire: $0) } }

    init(imapFlags: [Flag]) {
        self.init(imapFlags.map(\.wire))
    }
}
