@testable import IMAPServer
import IMAPGrammar
import MailCore
import NIOCore
import Testing

@Suite struct MailboxPatternTests {
    @Test(arguments: [
        ("*", "INBOX", true), ("*", "Projects/2026", true), ("%", "Projects", true), ("%", "Projects/2026", false),
        ("Projects/%", "Projects/2026", true), ("Projects/%", "Projects/2026/Q1", false), ("Projects/*", "Projects/2026/Q1", true),
        ("inbox", "INBOX", true), ("Inbox/%", "INBOX/Sub", true), ("Sent", "Sent", true), ("sent", "Sent", false),
        ("S*t", "Sent", true), ("S%t", "Sen/t", false), ("", "INBOX", false),
        ("inboxes", "inboxes", true), ("inbox*", "inboxes", true), ("INBOX*", "inboxes", false), ("inbox*", "INBOX/x", true),
        ("inbox", "inboxes", false), ("Inbox%", "INBOX", true),
        ("%/%", "a/b", true), ("%/%", "a/b/c", false), ("*/%", "a/b/c", true), ("%*", "a/b", true), ("*%", "", true),
        // Names as the client sends them (modified UTF-7) and atom specials, which are plain characters.
        ("p&AOQA5A-", "p&AOQA5A-", true), ("p&*", "p&AOQA5A-", true), ("stuff &-*", "stuff &- things", true),
        ("#$&'+,-.:;<=>?@^_`|}", "#$&'+,-.:;<=>?@^_`|}", true), ("#$&'+,-.:;<=>?@^_`|}", "#$&'+,-.:;<=>?@^_`|", false),
    ])
    func matches(_ pattern: String, _ name: String, _ expected: Bool) {
        #expect(MailboxPattern(pattern).matches(name) == expected)
    }

    /// Wildcards cost no more than the pattern's length times the name's, however many there are.
    @Test func manyWildcardsAgainstALongNameAnswerAtOnce() {
        let name = String(repeating: "a", count: 1000)
        #expect(!MailboxPattern(String(repeating: "*%", count: 500) + "b").matches(name))
        #expect(MailboxPattern(String(repeating: "%*", count: 500) + "a").matches(name))
    }
}

@Suite struct IMAPDateTimeTests {
    @Test(arguments: [
        (Int64(0), " 1-Jan-1970 00:00:00 +0000"),
        (Int64(951_782_400), "29-Feb-2000 00:00:00 +0000"),
        (Int64(1_795_672_180), "26-Nov-2026 05:49:40 +0000"),
        (Int64(-1), "31-Dec-1969 23:59:59 +0000"),
    ])
    func formatsUTC(_ seconds: Int64, _ wire: String) {
        #expect(IMAPDateTime(secondsSince1970: seconds).wire == wire)
    }
}

@Suite struct SelectedMailboxTests {
    static func state(_ uid: Int64, _ flags: MessageFlags = .empty, modseq: Int64 = 1) -> MessageState {
        MessageState(uid: uid, messageID: "m\(uid)", flags: flags, modseq: modseq)
    }

    static func mailbox(_ uids: [Int64]) -> SelectedMailbox {
        let folder = MailFolder(id: "inbox", name: "INBOX", parentID: nil, systemFolder: .inbox, uidValidity: 7, uidNext: 100,
                                highestModseq: 10, totalCount: uids.count, unseenCount: 0, createdAt: 0)
        return SelectedMailbox(snapshot: snapshot(folder, uids.map { state($0) }), readOnly: false)
    }

    /// A snapshot of messages as the session knows them.
    static func snapshot(_ folder: MailFolder, _ states: [MessageState]) -> MailboxSnapshot {
        MailboxSnapshot(folder: folder, messages: states.map { MailboxSnapshot.Message(uid: $0.uid, flags: $0.flags, modseq: $0.modseq) })
    }

    /// RFC 9051 2.3.1.2: a message number beyond the mailbox, or `*` in an empty one, is a protocol error.
    @Test func sequenceSetsBeyondTheMailboxAreInvalid() {
        let mailbox = Self.mailbox([3, 5, 9])
        #expect(mailbox.isValidSequenceSet(SequenceSet([SequenceRange(1...3)])))
        #expect(mailbox.isValidSequenceSet(SequenceSet([SequenceRange(.number(2), .last)])))
        #expect(!mailbox.isValidSequenceSet(SequenceSet([SequenceRange(2...4)])))
        #expect(!mailbox.isValidSequenceSet(SequenceSet(1, 4)))
        #expect(mailbox.isValidSequenceSet(.lastCommand))
        let empty = Self.mailbox([])
        #expect(!empty.isValidSequenceSet(SequenceSet([SequenceRange(.number(1), .last)])))
        #expect(!empty.isValidSequenceSet(SequenceSet([SequenceRange(.last)])))
    }

    /// The session's own write moves what it knows forward only when no other change can lie
    /// between: its modseq directly follows the known one (the mailbox starts at modseq 10).
    @Test func ownWritesAdvanceTheKnownModseqOnlyWithoutAGap() {
        var mailbox = Self.mailbox([3, 5])
        mailbox.record([Self.state(3, [MessageFlags.flagged], modseq: 11), Self.state(5, [MessageFlags.flagged], modseq: 11)])
        #expect(mailbox.knownModseq == 11 && mailbox.flags(of: 5) == [MessageFlags.flagged])
        mailbox.record([Self.state(3, .empty, modseq: 13)])
        #expect(mailbox.knownModseq == 11 && mailbox.flags(of: 3) == .empty, "modseq 12 may be another session's change")
        mailbox.record([])
        #expect(mailbox.knownModseq == 11)
    }

    @Test func sequenceNumbersFollowUIDs() {
        let mailbox = Self.mailbox([3, 5, 9])
        #expect(mailbox.sequenceNumber(of: 5) == 2)
        #expect(mailbox.sequenceNumber(of: 4) == nil)
        #expect(mailbox.uids(forSequenceSet: SequenceSet([SequenceRange(2...3)])) == [5, 9])
        #expect(mailbox.uids(forUIDSet: SequenceSet([SequenceRange(4...9)])) == [5, 9])
    }

    /// Sets are walked range by range: overlapping, touching and reversed ranges name each message
    /// once, in mailbox order; `*` is the last message (numbers) or the largest UID (UIDs), and
    /// `5:*` takes the last message even when its UID is below 5 (RFC 9051 6.4.9).
    @Test(arguments: [
        ("2:3", [5, 9] as [Int64], "4:9", [5, 9] as [Int64]),
        ("3:1,2", [3, 5, 9], "1:4294967295", [3, 5, 9, 20]),
        ("1,1,2:2,4", [3, 5, 20], "9:3,5:9,6", [3, 5, 9]),
        ("*", [20], "*", [20]),
        ("2:*", [5, 9, 20], "25:*", [20]),
        ("1:2,3:4", [3, 5, 9, 20], "10:19,21:30", []),
        ("4,1", [3, 20], "20,3", [3, 20]),
    ])
    func setsNameEachMessageOnceInOrder(numbers: String, byNumber: [Int64], uids: String, byUID: [Int64]) throws {
        let mailbox = Self.mailbox([3, 5, 9, 20])
        #expect(mailbox.uids(forSequenceSet: try Self.set(numbers)) == byNumber)
        #expect(mailbox.uids(forUIDSet: try Self.set(uids)) == byUID)
    }

    /// Walking a set costs what the set names, not what the mailbox holds (a FETCH 1:50 in a
    /// mailbox of 200,000 messages), and names every message of a set that covers them all.
    @Test func largeMailboxesAreWalkedByTheirRanges() throws {
        let mailbox = Self.mailbox(Array(stride(from: 2, through: 400_000, by: 2)))
        #expect(mailbox.uids(forSequenceSet: try Self.set("1:3,199999:*")) == [2, 4, 6, 399_998, 400_000])
        #expect(mailbox.uids(forUIDSet: try Self.set("7:12,399999:4294967295")) == [8, 10, 12, 400_000])
        #expect(mailbox.uids(forUIDSet: try Self.set("1:*")).count == 200_000)
        #expect(mailbox.uids(forSequenceSet: try Self.set("1:*")).count == 200_000)
    }

    /// UNSEEN on SELECT (RFC 3501 7.1): the number of the first message without `\Seen`.
    @Test func firstUnseenIsTheFirstMessageWithoutSeen() {
        let folder = MailFolder(id: "inbox", name: "INBOX", parentID: nil, systemFolder: .inbox, uidValidity: 7, uidNext: 100,
                                highestModseq: 10, totalCount: 4, unseenCount: 1, createdAt: 0)
        let seen: MessageFlags = [MessageFlags.seen]
        let messages = [Self.state(3, seen), Self.state(5, [MessageFlags.seen, MessageFlags.flagged]), Self.state(9, [MessageFlags.flagged]),
                        Self.state(12)]
        #expect(SelectedMailbox(snapshot: Self.snapshot(folder, messages), readOnly: false)
            .firstUnseenSequenceNumber == 3)
        let allSeen = messages.map { Self.state($0.uid, seen) }
        #expect(SelectedMailbox(snapshot: Self.snapshot(folder, allSeen), readOnly: false)
            .firstUnseenSequenceNumber == nil)
    }

    /// A UID named twice among the expunges is removed, and told, once.
    @Test func anExpungeNamedTwiceIsToldOnce() {
        var mailbox = Self.mailbox([3, 5, 9, 12])
        let responses = mailbox.apply(FolderChanges(uidValidity: 7, uidNext: 15, highestModseq: 20, added: [], changed: [],
                                                    expunged: [9, 5, 9, 40]), reporting: .init())
        #expect(responses == [.untagged(.expunge(3)), .untagged(.expunge(2))])
        #expect(mailbox.uids(forSequenceSet: try! Self.set("1:*")) == [3, 12])
        #expect(mailbox.flags(of: 12) == .empty && mailbox.flags(of: 9) == nil)
    }

    /// A set as a client writes it, read by the command parser.
    /// Many expunges at once leave the map in one pass: the numbers told are those each message
    /// has as its EXPUNGE goes out, highest first, and the flags stay with their messages.
    @Test func manyExpungesAtOnceKeepNumbersAndFlags() throws {
        let folder = MailFolder(id: "inbox", name: "INBOX", parentID: nil, systemFolder: .inbox, uidValidity: 7, uidNext: 100,
                                highestModseq: 10, totalCount: 20, unseenCount: 0, createdAt: 0)
        let messages = (1...20).map { Self.state(Int64($0), $0 % 3 == 0 ? [MessageFlags.flagged] : .empty) }
        var mailbox = SelectedMailbox(snapshot: Self.snapshot(folder, messages), readOnly: false)
        let gone: [Int64] = [2, 3, 5, 8, 9, 10, 11, 15, 19, 20, 77]
        #expect(mailbox.largestUID(applying: FolderChanges(uidValidity: 7, uidNext: 100, highestModseq: 11, added: [],
                                                           changed: [], expunged: gone)) == 18)
        let responses = mailbox.apply(FolderChanges(uidValidity: 7, uidNext: 100, highestModseq: 11, added: [], changed: [],
                                                    expunged: gone), reporting: .init())
        #expect(responses == [20, 19, 15, 11, 10, 9, 8, 5, 3, 2].map { .untagged(.expunge(UInt32($0))) })
        let left: [Int64] = [1, 4, 6, 7, 12, 13, 14, 16, 17, 18]
        #expect(mailbox.uids(forSequenceSet: try Self.set("1:*")) == left)
        for uid in left { #expect(mailbox.flags(of: uid) == (uid % 3 == 0 ? [MessageFlags.flagged] : .empty)) }
        #expect(mailbox.largestUID(applying: FolderChanges(uidValidity: 7, uidNext: 100, highestModseq: 12,
                                                           added: [Self.state(30), Self.state(25)], changed: [], expunged: [18])) == 30)
    }

    static func set(_ text: String) throws -> SequenceSet {
        var parser = CommandParser()
        var buffer = ByteBuffer(string: "a FETCH \(text) FLAGS\r\n")
        guard case .command(let tagged) = parser.parse(&buffer), case .fetch(let fetch) = tagged.command else {
            throw SetParseFailure(text: text)
        }
        return fetch.sequenceSet
    }

    struct SetParseFailure: Error { let text: String }

    /// RFC 9051 7.5.1: each EXPUNGE carries the number the message has when it is sent, so
    /// removing from the highest number down keeps earlier numbers valid.
    @Test func appliesExpungesThenExistsThenFlags() {
        var mailbox = Self.mailbox([3, 5, 9, 12])
        let changes = FolderChanges(uidValidity: 7, uidNext: 15, highestModseq: 20,
                                    added: [Self.state(14)], changed: [Self.state(12, [MessageFlags.seen])], expunged: [3, 9])
        let responses = mailbox.apply(changes, reporting: .init())
        #expect(responses == [
            .untagged(.expunge(3)), .untagged(.expunge(1)), .untagged(.exists(3)),
            .untagged(.fetch(2, [.uid(12), .flags([Flag(wire: "\\Seen")])])),
        ])
        #expect(mailbox.uids(forSequenceSet: SequenceSet([SequenceRange(1...3)])) == [5, 12, 14])
        #expect(mailbox.knownModseq == 20)
        #expect(mailbox.apply(changes, reporting: .init()) == [])
    }

    /// A message the session's own write claimed is recent here whether the session already holds
    /// it or learns of it later (the read after the write may fail); a re-SELECT starts afresh.
    @Test func messagesClaimedByTheSessionsOwnWriteAreRecentWhenLearnt() {
        var mailbox = Self.mailbox([3, 5])
        mailbox.noteClaimed(uids: [5, 8])
        #expect(mailbox.isRecent(5) && !mailbox.isRecent(3) && mailbox.recentCount == 1)
        _ = mailbox.apply(FolderChanges(uidValidity: 7, uidNext: 10, highestModseq: 20, added: [Self.state(8), Self.state(9)],
                                        changed: [], expunged: []), reporting: .init())
        #expect(mailbox.isRecent(8) && !mailbox.isRecent(9) && mailbox.recentCount == 2)
        mailbox.noteClaimed(uids: [11])
        mailbox.reopen(applying: FolderChanges(uidValidity: 7, uidNext: 12, highestModseq: 21, added: [Self.state(11)],
                                               changed: [], expunged: []))
        #expect(mailbox.recentCount == 0)
    }

    /// RFC 7162 3.2.10: with QRESYNC one VANISHED names the UIDs the client knew; with CONDSTORE a
    /// flag change carries its MODSEQ.
    @Test func qresyncToldAsVanishedAndCondstoreWithModseqs() {
        var mailbox = Self.mailbox([3, 5, 9, 12])
        let changes = FolderChanges(uidValidity: 7, uidNext: 15, highestModseq: 20, added: [Self.state(14)],
                                    changed: [Self.state(12, [MessageFlags.seen], modseq: 19)], expunged: [3, 9, 10])
        let reporting = SelectedMailbox.ChangeReporting(vanished: true, modseq: true)
        #expect(Self.wire(mailbox.apply(changes, reporting: reporting)) == [
            "* VANISHED 3,9", "* 3 EXISTS", "* 2 FETCH (UID 12 FLAGS (\\Seen) MODSEQ (19))",
        ])
        #expect(mailbox.uids(forSequenceSet: SequenceSet([SequenceRange(1...3)])) == [5, 12, 14])
    }

    /// RFC 7162 3.2.5.2: when expunges were forgotten, every UID the client may know that is not in
    /// the mailbox, worked out from the gaps, whatever the size of the set the client names.
    @Test(arguments: [
        ([3, 5, 9], 10, nil, "1:2,4,6:8,10"),
        ([3, 5, 9], 9, SequenceSet([SequenceRange(1...4_294_967_295)]), "1:2,4,6:8"),
        ([3, 5, 9], 12, SequenceSet([SequenceRange(2...4), SequenceRange(.number(8), .last)]), "2,4,8,10:12"),
        ([1, 2, 3], 3, nil, ""),
        ([], 0, nil, ""),
        ([], 4, SequenceSet([SequenceRange(7...7), SequenceRange(2...2), SequenceRange(1...2)]), "1:2"),
        ([5, 4_294_967_295], 4_294_967_295, nil, "1:4,6:4294967294"),
        ([5, 4_294_967_295], 4_294_967_295, SequenceSet([SequenceRange(3...6), SequenceRange(.number(4_294_967_290), .last)]),
         "3:4,6,4294967290:4294967294"),
    ] as [([Int64], UInt32, SequenceSet?, String)])
    func absentUIDsComeFromTheGaps(_ uids: [Int64], _ upper: UInt32, _ known: SequenceSet?, _ expected: String) {
        let ranges = Self.mailbox(uids).absentUIDs(upTo: upper, within: known)
        #expect(ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound):\($0.upperBound)" }.joined(separator: ",") == expected)
    }

    static func wire(_ responses: [Response]) -> [String] {
        responses.map { String(buffer: ResponseEncoder().encode($0)).trimmingCharacters(in: .newlines) }
    }

    /// RFC 9051 7.3.5: SELECT's FLAGS lists every keyword in use; PERMANENTFLAGS adds \* when writable.
    @Test func selectAnnouncesEveryKeywordInUse() {
        let folder = MailFolder(id: "inbox", name: "INBOX", parentID: nil, systemFolder: .inbox, uidValidity: 7, uidNext: 100,
                                highestModseq: 10, totalCount: 3, unseenCount: 0, createdAt: 0)
        let messages = [Self.state(1, ["$Label1", MessageFlags.seen]), Self.state(2, ["Work", "$label1"]), Self.state(3)]
        let writable = SelectedMailbox(snapshot: Self.snapshot(folder, messages), readOnly: false)
        #expect(Self.wire(writable.flagsResponses) == [
            "* FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Label1 Work)",
            "* OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Label1 Work \\*)] Flags permitted",
        ])
        let readOnly = SelectedMailbox(snapshot: Self.snapshot(folder, messages), readOnly: true)
        #expect(Self.wire(readOnly.flagsResponses).last == "* OK [PERMANENTFLAGS ()] Flags permitted")
    }

    /// A keyword new to the client is announced, once, just before the first FETCH that shows it.
    @Test func newKeywordsAreAnnouncedBeforeTheFetchThatShowsThem() {
        var mailbox = Self.mailbox([1, 2, 3])
        let first: Response = .untagged(.fetch(1, [.uid(1), .flags([Flag(wire: "\\Seen")])]))
        let second: Response = .untagged(.fetch(2, [.uid(2), .flags([Flag(wire: "Urgent")])]))
        let third: Response = .untagged(.fetch(3, [.uid(3), .flags([Flag(wire: "urgent"), Flag(wire: "$Done")])]))
        let tagged: Response = .tagged(TaggedResponse(tag: "a1", state: .ok, "STORE completed"))
        #expect(Self.wire(mailbox.announcingNewKeywords([first, second, tagged])) == [
            "* 1 FETCH (UID 1 FLAGS (\\Seen))",
            "* FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen Urgent)",
            "* OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen Urgent \\*)] Flags permitted",
            "* 2 FETCH (UID 2 FLAGS (Urgent))",
            "a1 OK STORE completed",
        ])
        let again = mailbox.announcingNewKeywords([third])
        #expect(Self.wire(again).first == "* FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen Urgent $Done)")
        #expect(mailbox.announcingNewKeywords([second, third]) == [second, third])
    }

    /// \Recent is the session's own: FETCH shows it on the messages it holds, and an expunge takes it away.
    @Test func recentMessagesShowInFlagsUntilExpunged() {
        var mailbox = Self.mailbox([3, 5, 9])
        mailbox.markRecent(from: 4)
        #expect(mailbox.recentCount == 2 && mailbox.isRecent(5) && mailbox.isRecent(9) && !mailbox.isRecent(3))
        #expect(mailbox.fetchFlags([MessageFlags.seen], uid: 5) == [Flag(wire: "\\Seen"), Flag(wire: "\\Recent")])
        #expect(mailbox.fetchFlags(.empty, uid: 3) == [])
        _ = mailbox.apply(FolderChanges(uidValidity: 7, uidNext: 100, highestModseq: 30, added: [], changed: [], expunged: [5]), reporting: .init())
        #expect(mailbox.recentCount == 1 && !mailbox.isRecent(5))
        mailbox.markRecent(from: 100)
        #expect(mailbox.recentCount == 1)
    }

    /// Flags live in a palette of distinct sets: every message keeps its own set through
    /// changes, and sets no message uses any more are dropped once they pile up.
    @Test func flagsSurviveChurnThroughThePalette() {
        var mailbox = Self.mailbox(Array(1...10))
        for round in 0..<200 {
            let keyword = MessageFlags(["k\(round)", MessageFlags.seen])
            mailbox.record([Self.state(Int64(round % 10 + 1), keyword)])
            #expect(mailbox.flags(of: Int64(round % 10 + 1)) == keyword)
        }
        for uid in Int64(1)...10 {
            #expect(mailbox.flags(of: uid) == MessageFlags(["k\(190 + uid - 1)", MessageFlags.seen]))
        }
        #expect(mailbox.flags(of: 11) == nil)
        #expect(mailbox.flags(of: 1 << 40) == nil)
    }
}
