import NIOCore
import Testing
@testable import IMAPGrammar

/// Input line (CRLF added) -> expected command. Vectors from RFC 3501/9051 section 6 examples and
/// the extension RFCs (2971 ID, 5161 ENABLE, 4959 SASL-IR, 7162 CONDSTORE/QRESYNC, 5258
/// LIST-EXTENDED, 5819 LIST-STATUS, 6154 SPECIAL-USE, 4731 ESEARCH, 6851 MOVE, 9208 QUOTA).
let commandVectors: [(String, TaggedCommand)] = [
    // Any state
    ("abcd CAPABILITY", .init("abcd", .capability)),
    ("a002 NOOP", .init("a002", .noop)),
    ("A023 LOGOUT", .init("A023", .logout)),
    ("a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")",
     .init("a023", .id([IDField("name", "sodr"), IDField("version", "19.34"), IDField("vendor", "Pink Floyd Music Limited")]))),
    ("a042 ID NIL", .init("a042", .id(nil))),
    ("a043 ID (\"os\" NIL)", .init("a043", .id([IDField("os", nil)]))),
    ("a044 ID ()", .init("a044", .id([]))),
    // Not authenticated
    ("a002 STARTTLS", .init("a002", .startTLS)),
    ("a001 LOGIN SMITH SESAME", .init("a001", .login(username: "SMITH", password: "SESAME"))),
    ("a001 LOGIN \"FRED FOOBAR\" \"fat \\\"man\\\\\"", .init("a001", .login(username: "FRED FOOBAR", password: "fat \"man\\"))),
    ("a001 login user@example.com p]ss", .init("a001", .login(username: "user@example.com", password: "p]ss"))),
    ("A001 AUTHENTICATE GSSAPI", .init("A001", .authenticate(mechanism: "GSSAPI", initialResponse: nil))),
    ("a002 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
     .init("a002", .authenticate(mechanism: "PLAIN", initialResponse: .data(Array("test\0test\0test".utf8))))),
    ("a003 AUTHENTICATE EXTERNAL =", .init("a003", .authenticate(mechanism: "EXTERNAL", initialResponse: .empty))),
    // Authenticated
    ("t2 ENABLE CONDSTORE X-GOOD-IDEA", .init("t2", .enable(["CONDSTORE", "X-GOOD-IDEA"]))),
    ("t3 enable utf8=accept", .init("t3", .enable(["UTF8=ACCEPT"]))),
    ("A142 SELECT INBOX", .init("A142", .select(.inbox, []))),
    ("A142 SELECT iNbOx", .init("A142", .select(.inbox, []))),
    ("A932 EXAMINE blurdybloop", .init("A932", .examine("blurdybloop", []))),
    ("A142 SELECT INBOX (CONDSTORE)", .init("A142", .select(.inbox, [.condStore]))),
    ("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
     .init("A02", .select(.inbox, [.qResync(QResyncParameter(
        uidValidity: 67890007, modSeq: 20050715194045000,
        knownUIDs: .ranges([SequenceRange(.number(41)), SequenceRange(43...211), SequenceRange(214...541)])))]))),
    ("B01 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500 15000,22500)))",
     .init("B01", .select(.inbox, [.qResync(QResyncParameter(
        uidValidity: 67890007, modSeq: 90060115194045000, knownUIDs: .ranges([SequenceRange(1...29997)]),
        sequenceMatch: .init(knownSequenceSet: SequenceSet(5000, 7500), knownUIDSet: SequenceSet(15000, 22500))))]))),
    ("C01 EXAMINE INBOX (QRESYNC (1 2))",
     .init("C01", .examine(.inbox, [.qResync(QResyncParameter(uidValidity: 1, modSeq: 2))]))),
    ("A003 CREATE owatagusiam/", .init("A003", .create("owatagusiam/", []))),
    ("t1 CREATE MySpecial (USE (\\Drafts \\Sent))", .init("t1", .create("MySpecial", [.use([.drafts, .sent])]))),
    ("A683 DELETE blurdybloop", .init("A683", .delete("blurdybloop"))),
    ("A682 RENAME blurdybloop sarasoop", .init("A682", .rename(from: "blurdybloop", to: "sarasoop"))),
    ("A002 SUBSCRIBE #news.comp.mail.mime", .init("A002", .subscribe("#news.comp.mail.mime"))),
    ("A002 UNSUBSCRIBE #news.comp.mail.mime", .init("A002", .unsubscribe("#news.comp.mail.mime"))),
    ("A101 LIST \"\" \"\"", .init("A101", .list(ListCommand(reference: "", patterns: [""])))),
    ("A102 LIST #news.comp.mail.misc \"\"", .init("A102", .list(ListCommand(reference: "#news.comp.mail.misc", patterns: [""])))),
    ("A202 LIST ~/Mail/ %", .init("A202", .list(ListCommand(reference: "~/Mail/", patterns: ["%"])))),
    ("A02 LIST (SUBSCRIBED) \"\" \"*\"",
     .init("A02", .list(ListCommand(selectionOptions: [.subscribed], reference: "", patterns: ["*"], isExtended: true)))),
    ("A04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)",
     .init("A04", .list(ListCommand(selectionOptions: [.subscribed, .recursiveMatch], reference: "", patterns: ["%"],
                                    returnOptions: [.children], isExtended: true)))),
    ("A05 LIST \"\" (\"INBOX\" \"Drafts\" Sent/%)",
     .init("A05", .list(ListCommand(reference: "", patterns: ["INBOX", "Drafts", "Sent/%"], isExtended: true)))),
    ("A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))",
     .init("A01", .list(ListCommand(reference: "", patterns: ["%"], returnOptions: [.status([.messages, .unseen])], isExtended: true)))),
    ("t3 LIST (SPECIAL-USE) \"\" \"*\" RETURN (SPECIAL-USE SUBSCRIBED)",
     .init("t3", .list(ListCommand(selectionOptions: [.specialUse], reference: "", patterns: ["*"],
                                   returnOptions: [.specialUse, .subscribed], isExtended: true)))),
    ("A002 LSUB \"#news.\" \"comp.mail.*\"", .init("A002", .lsub(reference: "#news.", pattern: "comp.mail.*"))),
    ("A001 NAMESPACE", .init("A001", .namespace)),
    ("A042 STATUS blurdybloop (UIDNEXT MESSAGES)", .init("A042", .status("blurdybloop", [.uidNext, .messages]))),
    ("A043 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ)",
     .init("A043", .status(.inbox, [.messages, .recent, .uidNext, .uidValidity, .unseen, .deleted, .size, .highestModSeq]))),
    ("a IDLE", .init("a", .idle)),
    ("G0 GETQUOTA \"\"", .init("G0", .getQuota(root: ""))),
    ("G1 GETQUOTAROOT INBOX", .init("G1", .getQuotaRoot(.inbox))),
    ("S0 SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)",
     .init("S0", .setQuota(root: "", [QuotaLimit(resource: "STORAGE", limit: 512), QuotaLimit(resource: "MESSAGE", limit: 1000)]))),
    // Selected
    ("FXXZ CHECK", .init("FXXZ", .check)),
    ("A341 CLOSE", .init("A341", .close)),
    ("A342 UNSELECT", .init("A342", .unselect)),
    ("A202 EXPUNGE", .init("A202", .expunge)),
    ("A003 UID EXPUNGE 3000:3002", .init("A003", .uidExpunge(.ranges([SequenceRange(3000...3002)])))),
    ("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
     .init("A282", .search(SearchCommand(key: .and([.flagged, .since(IMAPDate(year: 1994, month: 2, day: 1)), .not(.from("Smith"))]))))),
    ("A283 SEARCH TEXT \"string not in mailbox\"", .init("A283", .search(SearchCommand(key: .text("string not in mailbox"))))),
    ("A284 SEARCH CHARSET UTF-8 TEXT xxxxxx", .init("A284", .search(SearchCommand(charset: "UTF-8", key: .text("xxxxxx"))))),
    ("A285 SEARCH OR (SEEN FLAGGED) 1:5,*", .init("A285", .search(SearchCommand(key: .or(
        .and([.seen, .flagged]),
        .sequenceSet(.ranges([SequenceRange(1...5), SequenceRange(.last)]))))))),
    ("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
     .init("A282", .search(SearchCommand(returnOptions: [.min, .count],
        key: .and([.flagged, .since(IMAPDate(year: 1994, month: 2, day: 1)), .not(.from("Smith"))]))))),
    ("A283 SEARCH RETURN () FLAGGED", .init("A283", .search(SearchCommand(returnOptions: [], key: .flagged)))),
    ("A284 UID SEARCH RETURN (MIN MAX ALL COUNT SAVE) UNSEEN",
     .init("A284", .uidSearch(SearchCommand(returnOptions: [.min, .max, .all, .count, .save], key: .unseen)))),
    ("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338",
     .init("a", .search(SearchCommand(key: .modSeq(SearchModSeq(entry: .init(flag: .draft, type: .all), modSeq: 620162338)))))),
    ("a SEARCH MODSEQ 620162338", .init("a", .search(SearchCommand(key: .modSeq(SearchModSeq(modSeq: 620162338)))))),
    // RFC 8474 6: object ids are case-sensitive atoms of letters, digits, "_" and "-".
    ("27 SEARCH EMAILID M6d99ac3275bb4e", .init("27", .search(SearchCommand(key: .emailID("M6d99ac3275bb4e"))))),
    ("28 UID SEARCH THREADID T64b478a75b7ea9 EMAILID a_b-C",
     .init("28", .uidSearch(SearchCommand(key: .and([.threadID("T64b478a75b7ea9"), .emailID("a_b-C")]))))),
    ("a FETCH 1:* (EMAILID THREADID)",
     .init("a", .fetch(FetchCommand(sequenceSet: SequenceSet([SequenceRange(.number(1), .last)]), attributes: [.emailID, .threadID])))),
    ("3 STATUS foo (MAILBOXID)", .init("3", .status("foo", [.mailboxID]))),
    // RFC 8970 3.1 examples.
    ("E1 FETCH 1 (PREVIEW)", .init("E1", .fetch(FetchCommand(sequenceSet: SequenceSet(1), attributes: [.preview(lazy: false)])))),
    ("E2 UID FETCH 1:4 (PREVIEW (LAZY) FLAGS)",
     .init("E2", .uidFetch(FetchCommand(sequenceSet: SequenceSet([SequenceRange(1...4)]), attributes: [.preview(lazy: true), .flags])))),
    // RFC 5032 examples.
    ("a1 SEARCH UNSEEN YOUNGER 259200", .init("a1", .search(SearchCommand(key: .and([.unseen, .younger(259200)]))))),
    ("a2 SEARCH OLDER 3600", .init("a2", .search(SearchCommand(key: .older(3600))))),
    ("t UID SEARCH UID 1:* HEADER Message-ID \"<x@y>\"",
     .init("t", .uidSearch(SearchCommand(key: .and([.uid(.ranges([SequenceRange(.number(1), .last)])), .header("Message-ID", "<x@y>")]))))),
    ("s SEARCH LARGER 1000 SMALLER 5000 BEFORE \"1-Feb-1994\" ON 23-Dec-2024",
     .init("s", .search(SearchCommand(key: .and([.larger(1000), .smaller(5000), .before(IMAPDate(year: 1994, month: 2, day: 1)),
                                                 .on(IMAPDate(year: 2024, month: 12, day: 23))]))))),
    ("s SEARCH $", .init("s", .search(SearchCommand(key: .sequenceSet(.lastCommand))))),
    ("s SEARCH ALL ANSWERED DELETED DRAFT NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
     .init("s", .search(SearchCommand(key: .and([.all, .answered, .deleted, .draft, .new, .old, .recent, .seen,
                                                 .unanswered, .undeleted, .undraft, .unflagged, .unseen]))))),
    ("s SEARCH BCC a BODY b CC c SUBJECT d TO e KEYWORD $Junk UNKEYWORD foo SENTBEFORE 1-Jan-2000 SENTON 2-Jan-2000 SENTSINCE 3-Jan-2000",
     .init("s", .search(SearchCommand(key: .and([.bcc("a"), .body("b"), .cc("c"), .subject("d"), .to("e"), .keyword("$Junk"),
        .unkeyword("foo"), .sentBefore(IMAPDate(year: 2000, month: 1, day: 1)), .sentOn(IMAPDate(year: 2000, month: 1, day: 2)),
        .sentSince(IMAPDate(year: 2000, month: 1, day: 3))]))))),
    ("s SEARCH NOT (OR FROM a (TO b CC c))", .init("s", .search(SearchCommand(key: .not(.or(.from("a"), .and([.to("b"), .cc("c")]))))))),
    // RFC 5256 section 3 examples, RFC 5267 section 3 (ESORT), RFC 5957 (DISPLAYFROM).
    ("A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994",
     .init("A282", .sort(SortCommand(criteria: [SortCriterion(.subject)],
        search: SearchCommand(charset: "UTF-8", key: .since(IMAPDate(year: 1994, month: 2, day: 1))))))),
    ("A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
     .init("A283", .sort(SortCommand(criteria: [SortCriterion(.subject), SortCriterion(.date, reverse: true)],
        search: SearchCommand(charset: "UTF-8", key: .all))))),
    ("A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"",
     .init("A284", .sort(SortCommand(criteria: [SortCriterion(.subject)], search: SearchCommand(charset: "US-ASCII", key: .text("not in mailbox")))))),
    ("A285 uid sort return (min max count all save) (reverse arrival cc from size to displayfrom displayto) \"utf-8\" seen 1:5",
     .init("A285", .uidSort(SortCommand(returnOptions: [.min, .max, .count, .all, .save],
        criteria: [SortCriterion(.arrival, reverse: true), SortCriterion(.cc), SortCriterion(.from), SortCriterion(.size),
                   SortCriterion(.to), SortCriterion(.displayFrom), SortCriterion(.displayTo)],
        search: SearchCommand(charset: "UTF-8", key: .and([.seen, .sequenceSet(.ranges([SequenceRange(1...5)]))])))))),
    ("A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000",
     .init("A283", .thread(ThreadCommand(algorithm: .orderedSubject,
        search: SearchCommand(charset: "UTF-8", key: .since(IMAPDate(year: 2000, month: 3, day: 5))))))),
    ("A284 UID THREAD REFERENCES US-ASCII TEXT \"gewp\" UNSEEN",
     .init("A284", .uidThread(ThreadCommand(algorithm: .references, search: SearchCommand(charset: "US-ASCII", key: .and([.text("gewp"), .unseen])))))),
    // RFC 4314 section 3 examples.
    ("A001 GETACL INBOX", .init("A001", .getACL(.inbox))),
    ("A002 LISTRIGHTS ~/Mail/saved smith", .init("A002", .listRights("~/Mail/saved", identifier: "smith"))),
    ("A003 MYRIGHTS INBOX", .init("A003", .myRights(.inbox))),
    ("A036 SETACL INBOX/Drafts Fred rwipslxcetda",
     .init("A036", .setACL("INBOX/Drafts", identifier: "Fred", RightsModification(.replace, "rwipslxcetda")))),
    ("A004 SETACL INBOX/Drafts \"Chris B\" +cda", .init("A004", .setACL("INBOX/Drafts", identifier: "Chris B", RightsModification(.add, "cda")))),
    ("A005 SETACL INBOX Fred -", .init("A005", .setACL(.inbox, identifier: "Fred", RightsModification(.remove, "")))),
    ("A006 DELETEACL INBOX/Drafts Chris", .init("A006", .deleteACL("INBOX/Drafts", identifier: "Chris"))),
    // RFC 5464 section 4 examples; entry names are kept in lower case.
    ("a GETMETADATA \"\" /shared/Comment", .init("a", .getMetadata("", options: MetadataOptions(), entries: ["/shared/comment"]))),
    ("a GETMETADATA INBOX (/shared/comment /private/comment)",
     .init("a", .getMetadata(.inbox, options: MetadataOptions(), entries: ["/shared/comment", "/private/comment"]))),
    ("a GETMETADATA (MAXSIZE 1024) INBOX /shared/comment",
     .init("a", .getMetadata(.inbox, options: MetadataOptions(maxSize: 1024), entries: ["/shared/comment"]))),
    ("a GETMETADATA (DEPTH 1 MAXSIZE 7) INBOX (/private/filters/values)",
     .init("a", .getMetadata(.inbox, options: MetadataOptions(maxSize: 7, depth: .one), entries: ["/private/filters/values"]))),
    ("a GETMETADATA (depth infinity) \"\" /private", .init("a", .getMetadata("", options: MetadataOptions(depth: .infinity), entries: ["/private"]))),
    // Options after the mailbox, as some clients send them.
    ("a GETMETADATA \"\" (DEPTH 1) (/private/a /shared/b)",
     .init("a", .getMetadata("", options: MetadataOptions(depth: .one), entries: ["/private/a", "/shared/b"]))),
    ("a SETMETADATA INBOX (/private/comment {33+}\r\nMy new comment across\r\ntwo lines.)",
     .init("a", .setMetadata(.inbox, [MetadataEntry("/private/comment", value: Array("My new comment across\r\ntwo lines.".utf8))]))),
    ("a SETMETADATA INBOX (/private/comment NIL /shared/x \"1\")",
     .init("a", .setMetadata(.inbox, [MetadataEntry("/private/comment", value: nil), MetadataEntry("/shared/x", value: Array("1".utf8))]))),
    ("a SETMETADATA \"\" (/private/blob ~{3+}\r\na\u{0}b)",
     .init("a", .setMetadata("", [MetadataEntry("/private/blob", value: [0x61, 0x00, 0x62])]))),
    // RFC 8514 section 4, RFC 4978 section 3.
    ("a FETCH 1:3 (SAVEDATE UID)", .init("a", .fetch(FetchCommand(sequenceSet: .ranges([SequenceRange(1...3)]), attributes: [.saveDate, .uid])))),
    ("a UID SEARCH SAVEDBEFORE 1-Feb-2020 SAVEDON 2-Feb-2020 SAVEDSINCE 3-Feb-2020 SAVEDATESUPPORTED",
     .init("a", .uidSearch(SearchCommand(key: .and([.savedBefore(IMAPDate(year: 2020, month: 2, day: 1)),
        .savedOn(IMAPDate(year: 2020, month: 2, day: 2)), .savedSince(IMAPDate(year: 2020, month: 2, day: 3)), .saveDateSupported]))))),
    ("a COMPRESS DEFLATE", .init("a", .compress("DEFLATE"))),
    // RFC 5465 sections 3.1 and 6 examples.
    ("A01 NOTIFY SET (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))",
     .init("A01", .notify(.set(status: false, groups: [
        NotifyEventGroup(.selected, events: [.messageNew([.uid, .body(section: SectionSpecifier(kind: .headerFields(["FROM", "TO", "SUBJECT"])),
                                                                       partial: nil, peek: true)]), .messageExpunge]),
        NotifyEventGroup(.subtree(["Lists"]), events: [.messageNew([]), .messageExpunge])])))),
    ("A02 NOTIFY SET STATUS (selected-delayed (MessageNew MessageExpunge FlagChange)) (mailboxes (INBOX \"a b\") (MessageNew MessageExpunge)) (personal (MailboxName SubscriptionChange)) (inboxes NONE)",
     .init("A02", .notify(.set(status: true, groups: [
        NotifyEventGroup(.selectedDelayed, events: [.messageNew([]), .messageExpunge, .flagChange]),
        NotifyEventGroup(.mailboxes([.inbox, "a b"]), events: [.messageNew([]), .messageExpunge]),
        NotifyEventGroup(.personal, events: [.mailboxName, .subscriptionChange]),
        NotifyEventGroup(.inboxes, events: [])])))),
    ("A03 NOTIFY NONE", .init("A03", .notify(.none))),
    ("A04 notify set (subscribed (X-Weather))", .init("A04", .notify(.set(status: false, groups: [NotifyEventGroup(.subscribed, events: [.other("X-Weather")])])))),
    ("a compress deflate", .init("a", .compress("DEFLATE"))),
    ("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
     .init("A654", .fetch(FetchCommand(sequenceSet: .ranges([SequenceRange(2...4)]), attributes: [
        .flags, .body(section: SectionSpecifier(kind: .headerFields(["DATE", "FROM"])), partial: nil, peek: false)])))),
    ("a003 fetch 12 full", .init("a003", .fetch(FetchCommand(sequenceSet: SequenceSet(12), attributes: FetchAttribute.full)))),
    ("a003 FETCH 12 ALL", .init("a003", .fetch(FetchCommand(sequenceSet: SequenceSet(12), attributes: FetchAttribute.all)))),
    ("a003 FETCH 12 FAST", .init("a003", .fetch(FetchCommand(sequenceSet: SequenceSet(12), attributes: FetchAttribute.fast)))),
    ("a004 fetch 12 body[header]",
     .init("a004", .fetch(FetchCommand(sequenceSet: SequenceSet(12), attributes: [.body(section: SectionSpecifier(kind: .header), partial: nil, peek: false)])))),
    ("a FETCH 1 BODY.PEEK[1.2.HEADER]<0.100>",
     .init("a", .fetch(FetchCommand(sequenceSet: SequenceSet(1), attributes: [
        .body(section: SectionSpecifier(part: [1, 2], kind: .header), partial: Partial(offset: 0, length: 100), peek: true)])))),
    ("a FETCH 1 (BODY[] BODY[1.2] BODY[TEXT] BODY[1.MIME] BODY[2.TEXT] BODY[HEADER.FIELDS.NOT (X-A X-B)] BODY[3.HEADER.FIELDS (TO)])",
     .init("a", .fetch(FetchCommand(sequenceSet: SequenceSet(1), attributes: [
        .body(section: .complete, partial: nil, peek: false),
        .body(section: SectionSpecifier(part: [1, 2]), partial: nil, peek: false),
        .body(section: SectionSpecifier(kind: .text), partial: nil, peek: false),
        .body(section: SectionSpecifier(part: [1], kind: .mime), partial: nil, peek: false),
        .body(section: SectionSpecifier(part: [2], kind: .text), partial: nil, peek: false),
        .body(section: SectionSpecifier(kind: .headerFieldsNot(["X-A", "X-B"])), partial: nil, peek: false),
        .body(section: SectionSpecifier(part: [3], kind: .headerFields(["TO"])), partial: nil, peek: false)])))),
    ("a FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE INTERNALDATE UID MODSEQ)",
     .init("a", .fetch(FetchCommand(sequenceSet: SequenceSet(1), attributes: [
        .rfc822, .rfc822Header, .rfc822Text, .rfc822Size, .envelope, .bodyStructure(extensible: false),
        .bodyStructure(extensible: true), .internalDate, .uid, .modSeq])))),
    ("a FETCH 1 (BINARY[1.2]<0.10> BINARY.PEEK[1] BINARY[] BINARY.SIZE[1])",
     .init("a", .fetch(FetchCommand(sequenceSet: SequenceSet(1), attributes: [
        .binary(section: SectionSpecifier(part: [1, 2]), partial: Partial(offset: 0, length: 10), peek: false),
        .binary(section: SectionSpecifier(part: [1]), partial: nil, peek: true), .binary(section: .complete, partial: nil, peek: false),
        .binarySize(section: SectionSpecifier(part: [1]))])))),
    // Beyond RFC 3516's grammar, as other servers take them: BINARY of HEADER, TEXT and MIME, and
    // a partial without its length (to the end).
    ("a FETCH 1 (BINARY.PEEK[2.MIME] BINARY.SIZE[TEXT] BINARY.PEEK[5]<15> BODY.PEEK[]<3>)",
     .init("a", .fetch(FetchCommand(sequenceSet: SequenceSet(1), attributes: [
        .binary(section: SectionSpecifier(part: [2], kind: .mime), partial: nil, peek: true),
        .binarySize(section: SectionSpecifier(kind: .text)),
        .binary(section: SectionSpecifier(part: [5]), partial: Partial(offset: 15, length: UInt64.max), peek: true),
        .body(section: .complete, partial: Partial(offset: 3, length: UInt64.max), peek: true)])))),
    ("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
     .init("s100", .uidFetch(FetchCommand(sequenceSet: .ranges([SequenceRange(.number(1), .last)]), attributes: [.flags],
                                          modifiers: [.changedSince(12345), .vanished])))),
    ("a FETCH 4:2,*,5:* UID", .init("a", .fetch(FetchCommand(sequenceSet: .ranges([
        SequenceRange(.number(4), .number(2)), SequenceRange(.last), SequenceRange(.number(5), .last)]), attributes: [.uid])))),
    ("A003 STORE 2:4 +FLAGS (\\Deleted)",
     .init("A003", .store(StoreCommand(sequenceSet: .ranges([SequenceRange(2...4)]), flags: StoreFlags(operation: .add, silent: false, flags: [.deleted]))))),
    ("A004 STORE 1 FLAGS.SILENT (\\Seen $Forwarded \\Answered \\Flagged \\Draft)",
     .init("A004", .store(StoreCommand(sequenceSet: SequenceSet(1), flags: StoreFlags(operation: .replace, silent: true,
        flags: [.seen, .keyword("$Forwarded"), .answered, .flagged, .draft]))))),
    ("A005 UID STORE 1 -FLAGS \\Seen \\Flagged",
     .init("A005", .uidStore(StoreCommand(sequenceSet: SequenceSet(1), flags: StoreFlags(operation: .remove, silent: false, flags: [.seen, .flagged]))))),
    ("a103 UID STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
     .init("a103", .uidStore(StoreCommand(sequenceSet: SequenceSet(7, 5, 9), modifiers: [.unchangedSince(320162338)],
                                          flags: StoreFlags(operation: .add, silent: true, flags: [.deleted]))))),
    ("A006 STORE 1 FLAGS ()", .init("A006", .store(StoreCommand(sequenceSet: SequenceSet(1), flags: StoreFlags(operation: .replace, silent: false, flags: []))))),
    ("A003 COPY 2:4 MEETING", .init("A003", .copy(.ranges([SequenceRange(2...4)]), "MEETING"))),
    ("a UID COPY 1:* Trash", .init("a", .uidCopy(.ranges([SequenceRange(.number(1), .last)]), "Trash"))),
    ("a MOVE 1 inbox", .init("a", .move(SequenceSet(1), .inbox))),
    ("a UID MOVE 42:69 foo", .init("a", .uidMove(.ranges([SequenceRange(42...69)]), "foo"))),
    ("a UID MOVE $ foo", .init("a", .uidMove(.lastCommand, "foo"))),
]

@Test("commands parse", arguments: commandVectors)
func commandParses(_ line: String, _ expected: TaggedCommand) {
    #expect(parseOne(line + "\r\n") == [.command(expected)])
}

@Test("commands parse byte by byte", arguments: commandVectors)
func commandParsesByteByByte(_ line: String, _ expected: TaggedCommand) {
    var parser = CommandParser()
    let results = feedByteByByte(&parser, Array((line + "\r\n").utf8))
    #expect(significant(results) == [.command(expected)])
    #expect(results.last == .needsMoreData)
}

@Test("a bare LF ends a command too")
func bareLineFeed() {
    #expect(parseOne("a NOOP\n") == [.command(.init("a", .noop))])
}

@Test("pipelined commands come out one per call")
func pipelined() {
    #expect(parseOne("a NOOP\r\nb CAPABILITY\r\n\r\nc LOGOUT\r\n") == [
        .command(.init("a", .noop)), .command(.init("b", .capability)), .command(.init("c", .logout)),
    ])
}

/// Bad syntax -> error with the tag (or nil), and the next command still parses.
let badSyntaxVectors: [(String, String?, CommandParseError.Kind)] = [
    ("a SEARCH EMAILID M.1", "a", .badSyntax),
    ("a SEARCH THREADID", "a", .badSyntax),
    ("a SEARCH OLDER 0", "a", .badSyntax),
    ("a FETCH 1 (PREVIEW (EAGER))", "a", .badSyntax),
    ("a FETCH 1 (PREVIEW ())", "a", .badSyntax),
    ("a SEARCH EMAILID \(String(repeating: "x", count: 256))", "a", .badSyntax),
    ("a1 FOO", "a1", .unknownCommand),
    ("a2 NOOP extra", "a2", .badSyntax),
    ("a3 LOGIN onlyuser", "a3", .badSyntax),
    ("a4 SELECT", "a4", .badSyntax),
    ("a5 FETCH 0 FLAGS", "a5", .badSyntax),
    ("a6 FETCH 1 (FLAGS", "a6", .badSyntax),
    ("a7 FETCH 1 BODY[HEADER", "a7", .badSyntax),
    ("a8 FETCH 1 BODY[1.MIMEX]", "a8", .badSyntax),
    ("a9 FETCH 1 BODY[MIME]", "a9", .badSyntax),
    ("s1 SORT (SUBJECT) ALL", "s1", .badSyntax),
    ("s2 SORT () UTF-8 ALL", "s2", .badSyntax),
    ("s3 SORT (SENDER) UTF-8 ALL", "s3", .badSyntax),
    ("s4 SORT (REVERSE) UTF-8 ALL", "s4", .badSyntax),
    ("s5 SORT SUBJECT UTF-8 ALL", "s5", .badSyntax),
    ("s6 SORT (SUBJECT) UTF-8", "s6", .badSyntax),
    ("s7 SORT RETURN (FIRST) (SUBJECT) UTF-8 ALL", "s7", .badSyntax),
    ("t1 THREAD SUBJECT UTF-8 ALL", "t1", .badSyntax),
    ("t2 THREAD REFERENCES ALL", "t2", .badSyntax),
    ("t3 UID THREAD REFERENCES UTF-8", "t3", .badSyntax),
    ("A035 SETACL INBOX/Drafts John lrQswicda", "A035", .badSyntax),
    ("A037 SETACL INBOX/Drafts John", "A037", .badSyntax),
    ("A038 GETACL", "A038", .badSyntax),
    ("A039 LISTRIGHTS INBOX", "A039", .badSyntax),
    ("m1 SETMETADATA INBOX (/foo \"1\")", "m1", .badSyntax),
    ("m2 GETMETADATA INBOX /private/a*", "m2", .badSyntax),
    ("m3 GETMETADATA INBOX /private/a%", "m3", .badSyntax),
    ("m4 GETMETADATA INBOX /private//a", "m4", .badSyntax),
    ("m5 GETMETADATA INBOX /private/a/", "m5", .badSyntax),
    ("m6 GETMETADATA (DEPTH 2) INBOX /private/a", "m6", .badSyntax),
    ("m7 GETMETADATA (DEPTH 1 DEPTH 0) INBOX /private/a", "m7", .badSyntax),
    ("m8 SETMETADATA INBOX /private/a \"1\"", "m8", .badSyntax),
    ("m9 GETMETADATA INBOX \"/private/caf\u{e9}\"", "m9", .badSyntax),
    ("m10 GETMETADATA INBOX /private/\(String(repeating: "a", count: 1020))", "m10", .badSyntax),
    ("m11 GETMETADATA (FOO 1) INBOX /private/a", "m11", .badSyntax),
    ("z1 COMPRESS", "z1", .badSyntax),
    ("n1 NOTIFY SET", "n1", .badSyntax),
    ("n2 NOTIFY SET (personal)", "n2", .badSyntax),
    ("n3 NOTIFY SET (everything (MessageNew))", "n3", .badSyntax),
    ("n4 NOTIFY SET (personal ())", "n4", .badSyntax),
    ("n5 NOTIFY ALL", "n5", .badSyntax),
    ("z2 SEARCH SAVEDON", "z2", .badSyntax),
    ("b1 SEARCH", "b1", .badSyntax),
    ("b2 SEARCH FROM", "b2", .badSyntax),
    ("b3 SEARCH (SEEN", "b3", .badSyntax),
    ("b4 SEARCH SINCE 32-Feb-1994", "b4", .badSyntax),
    ("b5 SEARCH SINCE 1-Foo-1994", "b5", .badSyntax),
    ("b6 STORE 1 FLAGS (\\Recent)", "b6", .badSyntax),
    ("b7 STORE 1 XFLAGS (\\Seen)", "b7", .badSyntax),
    ("b8 UID FOO 1", "b8", .unknownCommand),
    ("b9 STATUS INBOX (BOGUS)", "b9", .badSyntax),
    ("c1 LIST (RECURSIVEMATCH) \"\" *", "c1", .badSyntax),
    ("c2 LOGIN \"unterminated", "c2", .badSyntax),
    ("c3 LOGIN \"bad\\escape\" x", "c3", .badSyntax),
    ("c4 FETCH 4294967296 FLAGS", "c4", .badSyntax),
    ("c5 AUTHENTICATE PLAIN !!!", "c5", .badSyntax),
    ("c6 ENABLE", "c6", .badSyntax),
    ("c7 APPEND INBOX", "c7", .badSyntax),
    ("c8 FETCH 1 BODY[]<0.0>", "c8", .badSyntax),
    ("c9 FETCH 1:2,,3 FLAGS", "c9", .badSyntax),
    ("d1  NOOP", "d1", .unknownCommand),
    ("d2 SELECT INBOX ()", "d2", .badSyntax),
    ("d3 FETCH 1 FLAGS (CHANGEDSINCE 0)", "d3", .badSyntax),
    // A line with nothing but a tag: the answer carries it.
    ("NOOP", "NOOP", .badSyntax),
    ("DONE", "DONE", .badSyntax),
    ("+tag NOOP", nil, .badSyntax),
    ("* NOOP", nil, .badSyntax),
    ("\u{1}x NOOP", nil, .badSyntax),
]

@Test("bad syntax reports the tag and resynchronises", arguments: badSyntaxVectors)
func badSyntax(_ line: String, _ tag: String?, _ kind: CommandParseError.Kind) {
    let results = parseOne(line + "\r\nok NOOP\r\n")
    #expect(results.count == 2)
    let error = errorOf(results)
    #expect(error?.tag == tag)
    #expect(error?.kind == kind)
    #expect(error?.closeConnection == false)
    #expect(error?.responseState == .bad)
    #expect(results.last == .command(.init("ok", .noop)))
}

@Test("an error becomes a tagged BAD, or an untagged BAD without a tag")
func errorResponse() {
    let tagged = errorOf(parseOne("a1 FOO\r\n"))!
    #expect(encode(tagged.response) == "a1 BAD unknown command FOO\r\n")
    let untagged = errorOf(parseOne("(\r\n"))!
    #expect(encode(untagged.response).hasPrefix("* BAD "))
}

@Test("command names")
func commandNames() {
    #expect(Command.uidFetch(FetchCommand(sequenceSet: SequenceSet(1), attributes: [.uid])).name == "UID FETCH")
    #expect(Command.noop.name == "NOOP")
}
