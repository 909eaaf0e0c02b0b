import IMAPGrammar
import MailCore

/// What a session knows of its selected mailbox: the message sequence (UIDs in order), their
/// flags, and the modseq up to which it has told the client. Changes made elsewhere are folded
/// in by `apply`, which returns the untagged responses RFC 9051 7.4 asks for, in order.
///
/// Kept small, since a node holds tens of thousands of sessions: UIDs are 32-bit (RFC 9051
/// 2.3.1.1) in one array, and each message's flags are an index into the few distinct flag sets
/// the mailbox uses (most messages share `\Seen` or nothing), so a message costs 8 bytes.
struct SelectedMailbox {
    var folder: MailFolder
    let readOnly: Bool
    private var uidList: [UInt32]
    private var flagIndexes: [UInt32]
    private var palette: FlagPalette
    private(set) var knownModseq: Int64
    /// The messages that are `\Recent` in this session (RFC 3501 2.3.2): those it claimed, or, when
    /// read-only, those no session had claimed when it learnt of them.
    private var recentUIDs: Set<UInt32> = []
    /// Messages this session claimed in its own write before it learnt of them (`noteClaimed`).
    private var claimedAhead: Set<UInt32> = []
    /// The UIDs `SEARCH RETURN (SAVE)` kept for `$` (RFC 5182), ascending; nil until a search saves.
    /// Held as UIDs, so a saved message that is expunged simply drops out of `$`.
    var savedSearch: [UInt32]?
    /// The keywords FLAGS has told the client of, in the order it learnt them: the first spelling of
    /// each name the session met (keywords are one flag in any letter case), which is the spelling
    /// every FETCH shows. By name with ASCII letters folded (`MessageFlags.foldedName`).
    private var announcedKeywords: [String] = []
    private var announcedSet: Set<String> = []
    private var spellings: [String: String] = [:]

    init(snapshot: MailboxSnapshot, readOnly: Bool) {
        folder = snapshot.folder
        self.readOnly = readOnly
        var palette = FlagPalette()
        var uids: [UInt32] = [], indexes: [UInt32] = []
        uids.reserveCapacity(snapshot.messages.count)
        indexes.reserveCapacity(snapshot.messages.count)
        // Neighbours mostly share their flags (the store hands equal sets out as one value, so
        // comparing them is cheap): the palette is asked only when they change.
        var previous: (flags: MessageFlags, index: UInt32)?
        for message in snapshot.messages {
            // A UID beyond 32 bits cannot be named in IMAP (RFC 9051 2.3.1.1); such a row is left
            // out rather than wrapped onto another message's number.
            guard let uid = UInt32(exactly: message.uid) else { continue }
            let index: UInt32
            if let previous, previous.flags == message.flags {
                index = previous.index
            } else {
                index = palette.index(of: message.flags)
                previous = (message.flags, index)
            }
            uids.append(uid)
            indexes.append(index)
        }
        uidList = uids
        flagIndexes = indexes
        self.palette = palette
        knownModseq = snapshot.folder.highestModseq
        // Every set a message has is in the palette, once.
        let keywords = (0..<palette.count).flatMap { palette.flags(at: UInt32($0)).names.filter(Self.isKeyword) }
        for keyword in Set(keywords).sorted() { learn(keyword) }
    }

    static func isKeyword(_ flag: String) -> Bool { !flag.hasPrefix("\\") }

    private mutating func learn(_ keyword: String) {
        let name = MessageFlags.foldedName(keyword)
        guard spellings[name] == nil else { return }
        spellings[name] = keyword
        announcedKeywords.append(keyword)
        announcedSet.insert(keyword)
    }

    /// A keyword as the mailbox already spells it (keywords are one flag in any letter case), so a
    /// client writing `$junk` where the mailbox has `$Junk` adds no second spelling.
    func spelling(of flag: Flag) -> Flag {
        // Most keywords arrive in the spelling announced: found without folding the name.
        guard Self.isKeyword(flag.wire), !announcedSet.contains(flag.wire),
              let known = spellings[MessageFlags.foldedName(flag.wire)] else { return flag }
        return Flag(wire: known)
    }

    /// `FLAGS` and `PERMANENTFLAGS`: the system flags and every keyword in use in the mailbox (RFC
    /// 9051 7.3.5), plus `\*` (new keywords allowed) unless the mailbox is read-only.
    var flagsResponses: [Response] {
        let flags = (MessageFlags.systemFlags + announcedKeywords).map { Flag(wire: $0) }
        return [
            .untagged(.flags(flags)),
            .untagged(.ok(ResponseText(code: .permanentFlags(readOnly ? [] : flags.map { .flag($0) } + [.wildcard]), text: "Flags permitted"))),
        ]
    }

    /// Puts `FLAGS` and `PERMANENTFLAGS` before the first FETCH that shows a keyword the client has not
    /// been told of, wherever it came from (this session, another node, the API), so that a client
    /// never sees a flag it was not announced.
    mutating func announcingNewKeywords(_ responses: [Response]) -> [Response] {
        var output: [Response] = []
        output.reserveCapacity(responses.count)
        for response in responses {
            if case .untagged(.fetch(_, let values)) = response {
                var learnt = false
                for case .flags(let flags) in values {
                    for flag in flags where Self.isKeyword(flag.wire) && spellings[MessageFlags.foldedName(flag.wire)] == nil {
                        learn(flag.wire)
                        learnt = true
                    }
                }
                if learnt { output += flagsResponses }
            }
            output.append(response)
        }
        return output
    }

    var count: UInt32 { UInt32(uidList.count) }
    var largestUID: Int64 { Int64(uidList.last ?? 0) }

    func flags(of uid: Int64) -> MessageFlags? {
        guard let position = position(of: uid) else { return nil }
        return palette.flags(at: flagIndexes[position])
    }

    var recentCount: Int { recentUIDs.count }

    func isRecent(_ uid: Int64) -> Bool {
        guard let uid = UInt32(exactly: uid) else { return false }
        return recentUIDs.contains(uid)
    }

    /// Makes every message from `first` on recent in this session.
    mutating func markRecent(from first: Int64) {
        let start = first <= 0 ? 0 : first > Int64(UInt32.max) ? uidList.count : firstPosition(atLeast: UInt32(first))
        guard start < uidList.count else { return }
        recentUIDs.formUnion(uidList[start...])
    }

    /// Messages whose `\Recent` the session's own write claimed: recent here now if the mailbox
    /// holds them, or as soon as `apply` adds them.
    mutating func noteClaimed(uids: [Int64]) {
        for uid in uids {
            guard let uid = UInt32(exactly: uid) else { continue }
            if position(of: Int64(uid)) != nil { recentUIDs.insert(uid) } else { claimedAhead.insert(uid) }
        }
    }

    /// Drops every `\Recent` flag: the session turned to IMAP4rev2, which has none (RFC 9051 2.3.2).
    mutating func forgetRecent() {
        recentUIDs = []
        claimedAhead = []
    }

    /// What a new SELECT of this read-write mailbox starts from, `changes` folded in: no `\Recent`
    /// flags (the session claimed these already, so they are recent to no session now), no saved
    /// search (RFC 5182 2.1), and the keywords in use announced afresh, as `init` announces them.
    mutating func reopen(applying changes: FolderChanges) {
        recentUIDs = []
        claimedAhead = []
        savedSearch = nil
        _ = apply(changes, reportFlags: false, reporting: ChangeReporting())
        announcedKeywords = []
        announcedSet = []
        spellings = [:]
        // The palette may keep sets no message uses any more: only those in use count.
        var inUse = [Bool](repeating: false, count: palette.count)
        for index in flagIndexes { inUse[Int(index)] = true }
        let keywords = inUse.indices.filter { inUse[$0] }.flatMap { palette.flags(at: UInt32($0)).names.filter(Self.isKeyword) }
        for keyword in Set(keywords).sorted() { learn(keyword) }
    }

    /// The largest UID `apply(changes)` would leave, worked out without applying them: the largest
    /// left after the expunges, or the largest new one it takes.
    func largestUID(applying changes: FolderChanges) -> Int64 {
        let expunged = Set(changes.expunged)
        let remaining = uidList.last { !expunged.contains(Int64($0)) }.map(Int64.init) ?? 0
        return changes.added.lazy.map(\.uid).filter { $0 > remaining && UInt32(exactly: $0) != nil }.max() ?? remaining
    }

    /// The message number of the first message without `\Seen` (the UNSEEN code of RFC 3501 7.1).
    var firstUnseenSequenceNumber: UInt32? {
        // Asked once per palette entry rather than once per message: the scan is then over integers.
        let unseen = (0..<palette.count).map { !palette.flags(at: UInt32($0)).isSeen }
        return flagIndexes.firstIndex { unseen[Int($0)] }.map { UInt32($0 + 1) }
    }

    /// A message's flags as FETCH shows them: the stored ones, keywords in the spelling FLAGS
    /// announced, and `\Recent` when it is recent here.
    func fetchFlags(_ flags: MessageFlags, uid: Int64) -> [Flag] {
        var shown = flags.imapFlags
        if !spellings.isEmpty {
            for index in shown.indices where Self.isKeyword(shown[index].wire) { shown[index] = spelling(of: shown[index]) }
        }
        if isRecent(uid) { shown.append(Flag(wire: "\\Recent")) }
        return shown
    }

    func sequenceNumber(of uid: Int64) -> UInt32? {
        position(of: uid).map { UInt32($0 + 1) }
    }

    private func position(of uid: Int64) -> Int? {
        guard let wanted = UInt32(exactly: uid) else { return nil }
        var low = 0, high = uidList.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if uidList[middle] == wanted { return middle }
            if uidList[middle] < wanted { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    /// False when the set names a message number beyond the mailbox, or `*` in an empty one: a
    /// protocol error, answered `BAD` (RFC 9051 2.3.1.2). UID sets have no such limit.
    func isValidSequenceSet(_ set: SequenceSet) -> Bool {
        guard case .ranges(let ranges) = set else { return true }
        return count > 0 && ranges.allSatisfy { $0.resolved(largest: count).upperBound <= count }
    }

    /// The UIDs a sequence set names (message numbers, `*` = the last message; `$` the saved search).
    /// Walks the set's ranges, not the mailbox: `FETCH 1:50` costs the same in a mailbox of a
    /// hundred messages and of a hundred thousand.
    func uids(forSequenceSet set: SequenceSet) -> [Int64] {
        if case .lastCommand = set { return savedUIDs() }
        guard case .ranges(let ranges) = set, !uidList.isEmpty else { return [] }
        let positions = Self.normalized(ranges.map { $0.resolved(largest: count) }).compactMap { range -> Range<Int>? in
            let first = Int(max(range.lowerBound, 1)), last = Int(min(range.upperBound, count))
            return first <= last ? (first - 1)..<last : nil
        }
        var uids: [Int64] = []
        uids.reserveCapacity(positions.reduce(0) { $0 + $1.count })
        for range in positions {
            for position in range { uids.append(Int64(uidList[position])) }
        }
        return uids
    }

    /// The UIDs of this mailbox a UID set names; `*` is the largest UID (RFC 9051 6.4.9: a range
    /// like `5:*` includes the last message even when its UID is below 5). Each range is found by
    /// binary search, so a client may name `1:4294967295` in a mailbox of any size.
    func uids(forUIDSet set: SequenceSet) -> [Int64] {
        if case .lastCommand = set { return savedUIDs() }
        guard case .ranges(let ranges) = set, let largest = uidList.last else { return [] }
        var uids: [Int64] = []
        for range in Self.normalized(ranges.map { $0.resolved(largest: largest) }) {
            var position = firstPosition(atLeast: range.lowerBound)
            while position < uidList.count, uidList[position] <= range.upperBound {
                uids.append(Int64(uidList[position]))
                position += 1
            }
        }
        return uids
    }

    /// The position of the first UID not below `uid` (`uidList.count` when there is none).
    private func firstPosition(atLeast uid: UInt32) -> Int {
        var low = 0, high = uidList.count
        while low < high {
            let middle = (low + high) / 2
            if uidList[middle] < uid { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The UIDs from 1 to `upper` that are not in the mailbox, within `known` when given (`*` in it
    /// standing for `upper`), as ascending ranges: what a client is told vanished when the expunges
    /// it asks about were forgotten (RFC 7162 3.2.5.2). Computed from the gaps between the UIDs,
    /// never one UID at a time, since a client may name 1:4294967295.
    func absentUIDs(upTo upper: UInt32, within known: SequenceSet?) -> [ClosedRange<UInt32>] {
        guard upper > 0 else { return [] }
        var gaps: [ClosedRange<UInt32>] = []
        var next: UInt32 = 1
        var pastTheTop = false
        for uid in uidList where uid <= upper {
            if uid > next { gaps.append(next...(uid - 1)) }
            // The largest UID in use: nothing can follow it.
            if uid == .max { pastTheTop = true; break }
            next = uid + 1
        }
        if !pastTheTop, next <= upper { gaps.append(next...upper) }
        guard let known else { return gaps }
        guard case .ranges(let ranges) = known else { return [] }
        return Self.intersection(gaps, Self.normalized(ranges.map { $0.resolved(largest: upper) }))
    }

    /// Ranges sorted and merged, so that no two overlap or touch.
    static func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var merged: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound || range.lowerBound == last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// The overlap of two normalized lists of ranges, in one pass over both.
    static func intersection(_ left: [ClosedRange<UInt32>], _ right: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var i = 0, j = 0
        while i < left.count && j < right.count {
            let low = max(left[i].lowerBound, right[j].lowerBound)
            let high = min(left[i].upperBound, right[j].upperBound)
            if low <= high { result.append(low...high) }
            if left[i].upperBound < right[j].upperBound { i += 1 } else { j += 1 }
        }
        return result
    }

    /// `$`: the saved messages still in the mailbox, the empty set when nothing was saved (RFC 5182 2.1).
    private func savedUIDs() -> [Int64] {
        (savedSearch ?? []).filter { position(of: Int64($0)) != nil }.map { Int64($0) }
    }

    /// How changes are told to a client, by what it enabled (RFC 7162).
    struct ChangeReporting {
        /// QRESYNC: one `VANISHED` with the UIDs instead of an `EXPUNGE` per message.
        var vanished = false
        /// CONDSTORE: flag changes carry `MODSEQ`.
        var modseq = false
    }

    /// Folds in what changed elsewhere. Expunges come first (each with the sequence number it
    /// has at that moment, or all in one `VANISHED`), then the new count, then flag changes.
    mutating func apply(_ changes: FolderChanges, reportFlags: Bool = true, reporting: ChangeReporting) -> [Response] {
        var responses: [Response] = []
        var vanished: [UInt32] = []
        // From the highest down, each message's number is the one it has once those above it are
        // gone, as EXPUNGE tells it; the rows themselves go in one pass over the arrays afterwards.
        var removedPositions: [Int] = []
        for uid in changes.expunged.sorted(by: >) {
            guard let position = position(of: uid), position != removedPositions.last else { continue }
            removedPositions.append(position)
            let removed = uidList[position]
            recentUIDs.remove(removed)
            if reporting.vanished {
                vanished.append(removed)
            } else {
                responses.append(.untagged(.expunge(UInt32(position + 1))))
            }
        }
        if removedPositions.count <= 8 {
            // A few rows: each removal is one move of the rows above it, highest first.
            for position in removedPositions {
                uidList.remove(at: position)
                flagIndexes.remove(at: position)
            }
        } else {
            var kept = 0
            var next = removedPositions.count - 1
            for position in uidList.indices {
                if next >= 0, removedPositions[next] == position {
                    next -= 1
                    continue
                }
                uidList[kept] = uidList[position]
                flagIndexes[kept] = flagIndexes[position]
                kept += 1
            }
            uidList.removeLast(uidList.count - kept)
            flagIndexes.removeLast(flagIndexes.count - kept)
        }
        if !vanished.isEmpty { responses.append(.untagged(.vanished(earlier: false, .compact(vanished)))) }
        let added = changes.added.filter { $0.uid > largestUID && UInt32(exactly: $0.uid) != nil }.sorted { $0.uid < $1.uid }
        for message in added {
            uidList.append(UInt32(message.uid))
            flagIndexes.append(palette.index(of: message.flags))
            if !claimedAhead.isEmpty, let uid = claimedAhead.remove(UInt32(message.uid)) { recentUIDs.insert(uid) }
        }
        if !added.isEmpty { responses.append(.untagged(.exists(count))) }
        for message in changes.changed {
            guard let position = position(of: message.uid), palette.flags(at: flagIndexes[position]) != message.flags else { continue }
            flagIndexes[position] = palette.index(of: message.flags)
            if reportFlags {
                var values: [FetchValue] = [.uid(UInt32(truncatingIfNeeded: message.uid)), .flags(fetchFlags(message.flags, uid: message.uid))]
                if reporting.modseq { values.append(.modSeq(UInt64(max(message.modseq, 0)))) }
                responses.append(.untagged(.fetch(UInt32(position + 1), values)))
            }
        }
        knownModseq = max(knownModseq, changes.highestModseq)
        folder.uidNext = changes.uidNext
        folder.highestModseq = max(folder.highestModseq, changes.highestModseq)
        compactPaletteIfWasteful()
        return responses
    }

    /// Records flags this session itself just set (its own FETCH responses already told the client).
    ///
    /// Modseqs are handed out one grant at a time, in commit order (the grant row is the lock). So
    /// when this write's modseq directly follows the last one the session knows, no other change
    /// lies between them and the session is current through this write without reading the change
    /// log; its own announcement of the write then asks for nothing.
    mutating func record(_ states: [MessageState]) {
        for state in states {
            guard let position = position(of: state.uid) else { continue }
            flagIndexes[position] = palette.index(of: state.flags)
        }
        if let modseq = states.first?.modseq, modseq == knownModseq + 1, states.allSatisfy({ $0.modseq == modseq }) {
            knownModseq = modseq
            folder.highestModseq = max(folder.highestModseq, modseq)
        }
        compactPaletteIfWasteful()
    }

    /// Flag sets no message uses any more stay in the palette until they outnumber the messages.
    private mutating func compactPaletteIfWasteful() {
        guard palette.count > 64, palette.count > uidList.count * 2 else { return }
        var fresh = FlagPalette()
        let current = palette
        flagIndexes = flagIndexes.map { fresh.index(of: current.flags(at: $0)) }
        palette = fresh
    }
}

/// The distinct flag sets of one mailbox, each stored once and named by its position.
struct FlagPalette {
    private var sets: [MessageFlags] = [.empty]
    private var positions: [MessageFlags: UInt32] = [.empty: 0]

    var count: Int { sets.count }

    func flags(at index: UInt32) -> MessageFlags { sets[Int(index)] }

    mutating func index(of flags: MessageFlags) -> UInt32 {
        if let known = positions[flags] { return known }
        let index = UInt32(sets.count)
        sets.append(flags)
        positions[flags] = index
        return index
    }
}

extension MessageFlags {
    var imapFlags: [Flag] { names.map { Flag(wire: $0) } }

    init(imapFlags: [Flag]) {
        self.init(imapFlags.map(\.wire))
    }
}
