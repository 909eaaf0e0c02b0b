import NIOCore
import Testing
@testable import IMAPGrammar

let envelope: WireText = "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) NIL NIL NIL NIL NIL \"<B27397-0100000@cac.washington.edu>\")"
let july17 = IMAPDateTime(date: IMAPDate(year: 1996, month: 7, day: 17), hour: 2, minute: 44, second: 25, zoneMinutes: -420)

/// Response value -> exact bytes. The first group are the server lines of the RFC 3501
/// section 8 sample session.
let encoderVectors: [(Response, String)] = [
    (.untagged(.ok(ResponseText(text: "IMAP4rev1 Service Ready"))), "* OK IMAP4rev1 Service Ready\r\n"),
    (.tagged(TaggedResponse(tag: "a001", state: .ok, "LOGIN completed")), "a001 OK LOGIN completed\r\n"),
    (.untagged(.exists(18)), "* 18 EXISTS\r\n"),
    (.untagged(.flags([.answered, .flagged, .deleted, .seen, .draft])), "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"),
    (.untagged(.recent(2)), "* 2 RECENT\r\n"),
    (.untagged(.ok(ResponseText(code: .unseen(17), text: "Message 17 is the first unseen message"))),
     "* OK [UNSEEN 17] Message 17 is the first unseen message\r\n"),
    (.untagged(.ok(ResponseText(code: .uidValidity(3857529045), text: "UIDs valid"))), "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"),
    (.tagged(TaggedResponse(tag: "a002", state: .ok, code: .readWrite, "SELECT completed")), "a002 OK [READ-WRITE] SELECT completed\r\n"),
    (.untagged(.fetch(12, [.flags([.seen]), .internalDate(july17), .rfc822Size(4286), .envelope(envelope),
                           .bodyStructure("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)", extensible: false)])),
     "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE \(String(decoding: envelope.bytes, as: UTF8.self)) BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n"),
    (.tagged(TaggedResponse(tag: "a003", state: .ok, "FETCH completed")), "a003 OK FETCH completed\r\n"),
    (.untagged(.fetch(12, [.body(section: SectionSpecifier(kind: .header), origin: nil, data: ByteBuffer(string: "Date: x\r\n\r\n"))])),
     "* 12 FETCH (BODY[HEADER] {11}\r\nDate: x\r\n\r\n)\r\n"),
    (.untagged(.fetch(12, [.flags([.seen, .deleted])])), "* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n"),
    (.tagged(TaggedResponse(tag: "a005", state: .ok, "+FLAGS completed")), "a005 OK +FLAGS completed\r\n"),
    (.untagged(.bye(ResponseText(text: "IMAP4rev1 server terminating connection"))), "* BYE IMAP4rev1 server terminating connection\r\n"),
    (.tagged(TaggedResponse(tag: "a006", state: .ok, "LOGOUT completed")), "a006 OK LOGOUT completed\r\n"),

    // Response codes
    (.tagged(TaggedResponse(tag: "a", state: .no, code: .alert, "Disk full")), "a NO [ALERT] Disk full\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .no, code: .badCharset(["UTF-8", "US-ASCII"]), "x")), "a NO [BADCHARSET (UTF-8 US-ASCII)] x\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .no, code: .badCharset([]), "x")), "a NO [BADCHARSET] x\r\n"),
    (.untagged(.ok(ResponseText(code: .capability(["IMAP4rev1", "IMAP4rev2", "LITERAL+"]), text: "ready"))),
     "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+] ready\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .bad, code: .parse, "bad header")), "a BAD [PARSE] bad header\r\n"),
    (.untagged(.ok(ResponseText(code: .permanentFlags([.flag(.deleted), .flag(.seen), .wildcard]), text: "Limited"))),
     "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .ok, code: .readOnly, "EXAMINE completed")), "a OK [READ-ONLY] EXAMINE completed\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .no, code: .tryCreate, "no mailbox")), "a NO [TRYCREATE] no mailbox\r\n"),
    (.untagged(.ok(ResponseText(code: .uidNext(4392), text: "Predicted next UID"))), "* OK [UIDNEXT 4392] Predicted next UID\r\n"),
    (.tagged(TaggedResponse(tag: "A003", state: .ok, code: .appendUID(uidValidity: 38505, uids: SequenceSet(3955)), "APPEND completed")),
     "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"),
    (.tagged(TaggedResponse(tag: "A004", state: .ok, code: .copyUID(uidValidity: 38505, source: .compact([304, 319, 320]), destination: .compact([3956, 3957, 3958])), "Done")),
     "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .authenticationFailed, "Authentication failed")), "b NO [AUTHENTICATIONFAILED] Authentication failed\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .limit, "Too many")), "b NO [LIMIT] Too many\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .overQuota, "Quota")), "b NO [OVERQUOTA] Quota\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .unavailable, "Try later")), "b NO [UNAVAILABLE] Try later\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .nonExistent, "No such mailbox")), "b NO [NONEXISTENT] No such mailbox\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .alreadyExists, "Exists")), "b NO [ALREADYEXISTS] Exists\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .cannot, "Cannot")), "b NO [CANNOT] Cannot\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .noPerm, "Denied")), "b NO [NOPERM] Denied\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .inUse, "Locked")), "b NO [INUSE] Locked\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .serverBug, "Oops")), "b NO [SERVERBUG] Oops\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .bad, code: .clientBug, "Oops")), "b BAD [CLIENTBUG] Oops\r\n"),
    (.tagged(TaggedResponse(tag: "b", state: .no, code: .tooBig, "Too big")), "b NO [TOOBIG] Too big\r\n"),
    (.untagged(.ok(ResponseText(code: .highestModSeq(715194045007), text: "Highest"))), "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"),
    (.untagged(.ok(ResponseText(code: .noModSeq, text: "Sorry"))), "* OK [NOMODSEQ] Sorry\r\n"),
    (.tagged(TaggedResponse(tag: "d105", state: .ok, code: .modified(SequenceSet(7, 9)), "Conditional STORE failed")),
     "d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n"),
    (.untagged(.ok(ResponseText(code: .closed, text: ""))), "* OK [CLOSED]\r\n"),
    (.untagged(.ok(ResponseText(code: .other("X-FOO", "bar]baz"), text: "t"))), "* OK [X-FOO barbaz] t\r\n"),
    (.untagged(.no(ResponseText(text: "line\r\nbreak"))), "* NO linebreak\r\n"),
    (.untagged(.bad(ResponseText(text: "Empty command line"))), "* BAD Empty command line\r\n"),
    (.untagged(.preauth(ResponseText(text: "welcome"))), "* PREAUTH welcome\r\n"),

    // Untagged data
    (.untagged(.capability(["IMAP4rev1", "STARTTLS", "AUTH=PLAIN", "LOGINDISABLED"])), "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN LOGINDISABLED\r\n"),
    (.untagged(.list(MailboxListEntry(attributes: [.noSelect], delimiter: "/", name: "~/Mail/foo"))), "* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n"),
    (.untagged(.list(MailboxListEntry(attributes: [.hasNoChildren, .sent], delimiter: "/", name: "Sent Items"))),
     "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n"),
    (.untagged(.list(MailboxListEntry(attributes: [], delimiter: nil, name: .inbox))), "* LIST () NIL INBOX\r\n"),
    (.untagged(.list(MailboxListEntry(attributes: [.hasChildren], delimiter: "/", name: MailboxName(decoded: "Entw\u{00FC}rfe")))),
     "* LIST (\\HasChildren) \"/\" Entw&APw-rfe\r\n"),
    (.untagged(.list(MailboxListEntry(attributes: [.nonExistent], delimiter: "/", name: "Foo", childInfo: ["SUBSCRIBED"]))),
     "* LIST (\\NonExistent) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"),
    (.untagged(.list(MailboxListEntry(attributes: [], delimiter: "\\", name: "a\"b"))), "* LIST () \"\\\\\" \"a\\\"b\"\r\n"),
    (.untagged(.lsub(MailboxListEntry(attributes: [], delimiter: ".", name: "#news.comp.mail.mime"))), "* LSUB () \".\" #news.comp.mail.mime\r\n"),
    (.untagged(.status("blurdybloop", [StatusValue(.messages, 231), StatusValue(.uidNext, 44292)])),
     "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"),
    (.untagged(.status(.inbox, [StatusValue(.recent, 0), StatusValue(.uidValidity, 1), StatusValue(.unseen, 2), StatusValue(.deleted, 3),
                                StatusValue(.size, 4), StatusValue(.highestModSeq, 5)])),
     "* STATUS INBOX (RECENT 0 UIDVALIDITY 1 UNSEEN 2 DELETED 3 SIZE 4 HIGHESTMODSEQ 5)\r\n"),
    (.untagged(.expunge(3)), "* 3 EXPUNGE\r\n"),
    // RFC 8474 4, 5.
    (.untagged(.status("foo", [StatusValue(mailboxID: "F2212ea87-6097-4256-9d51-71338625")])),
     "* STATUS foo (MAILBOXID (F2212ea87-6097-4256-9d51-71338625))\r\n"),
    (.untagged(.ok(ResponseText(code: .mailboxID("F2212ea87-6097-4256-9d51-71338625"), text: "Ok"))),
     "* OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Ok\r\n"),
    (.untagged(.fetch(1, [.emailID("M6d99ac3275bb4e"), .threadID("T64b478a75b7ea9")])),
     "* 1 FETCH (EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9))\r\n"),
    (.untagged(.fetch(2, [.emailID("M5fdc09b49ea703"), .threadID(nil)])), "* 2 FETCH (EMAILID (M5fdc09b49ea703) THREADID NIL)\r\n"),
    (.untagged(.fetch(1, [.uid(1), .preview("Hello, this is a \"preview\"")])),
     "* 1 FETCH (UID 1 PREVIEW \"Hello, this is a \\\"preview\\\"\")\r\n"),
    (.untagged(.fetch(2, [.preview(nil)])), "* 2 FETCH (PREVIEW NIL)\r\n"),
    (.untagged(.fetch(3, [.preview("Grüße")])), "* 3 FETCH (PREVIEW {7}\r\nGrüße)\r\n"),
    (.untagged(.search([2, 3, 6], modSeq: nil)), "* SEARCH 2 3 6\r\n"),
    (.untagged(.search([], modSeq: nil)), "* SEARCH\r\n"),
    (.untagged(.search([2, 5, 6], modSeq: 917162500)), "* SEARCH 2 5 6 (MODSEQ 917162500)\r\n"),
    (.untagged(.esearch(ESearchResponse(tag: "A282", min: 2, count: 3))), "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"),
    (.untagged(.esearch(ESearchResponse(tag: "A283", uid: true, max: 9, all: .compact([2, 10, 11]), modSeq: 7))),
     "* ESEARCH (TAG \"A283\") UID MAX 9 ALL 2,10:11 MODSEQ 7\r\n"),
    (.untagged(.esearch(ESearchResponse(tag: "A284"))), "* ESEARCH (TAG \"A284\")\r\n"),
    // RFC 5256 sections 3 and 4, RFC 7162 3.1.5, RFC 5267 3.1.
    (.untagged(.sort([2, 84, 882], modSeq: nil)), "* SORT 2 84 882\r\n"),
    (.untagged(.sort([], modSeq: nil)), "* SORT\r\n"),
    (.untagged(.sort([5, 3], modSeq: 12)), "* SORT 5 3 (MODSEQ 12)\r\n"),
    (.untagged(.esearch(ESearchResponse(tag: "A5", all: .ordered([23765, 23764, 23763, 4, 5, 6, 9])))),
     "* ESEARCH (TAG \"A5\") ALL 23765,23764,23763,4:6,9\r\n"),
    (.untagged(.thread([])), "* THREAD\r\n"),
    (.untagged(.thread([ThreadNode(2), ThreadNode(3, children: [ThreadNode(6, children: [
        ThreadNode(4, children: [ThreadNode(23)]), ThreadNode(44, children: [ThreadNode(7, children: [ThreadNode(96)])])])])])),
     "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"),
    (.untagged(.thread([ThreadNode(nil, children: [ThreadNode(3), ThreadNode(5)])])), "* THREAD ((3)(5))\r\n"),
    (.untagged(.thread([ThreadNode(174, children: [ThreadNode(175), ThreadNode(176)]), ThreadNode(1, children: [ThreadNode(nil, children: [ThreadNode(2)])])])),
     "* THREAD (174 (175)(176))(1 2)\r\n"),
    // RFC 4314 sections 3.6 to 3.8.
    (.untagged(.acl(.inbox, [ACLEntry(identifier: "Fred", rights: "rwipsldexta")])), "* ACL INBOX Fred rwipsldexta\r\n"),
    (.untagged(.listRights("~/Mail/saved", identifier: "smith", required: "la", optional: ["r", "swicdkxte"])),
     "* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n"),
    (.untagged(.listRights(.inbox, identifier: "a b", required: "", optional: [])), "* LISTRIGHTS INBOX \"a b\" \"\"\r\n"),
    (.untagged(.myRights(.inbox, "rwiptsldaex")), "* MYRIGHTS INBOX rwiptsldaex\r\n"),
    // RFC 5464 sections 4.2.1, 4.3 and 4.4.
    (.untagged(.metadata("", [MetadataEntry("/shared/comment", value: Array("Shared comment".utf8))], namesOnly: false)),
     "* METADATA \"\" (/shared/comment \"Shared comment\")\r\n"),
    (.untagged(.metadata(.inbox, [MetadataEntry("/shared/comment", value: nil), MetadataEntry("/private/comment", value: Array("a\r\nb".utf8))],
                         namesOnly: false)),
     "* METADATA INBOX (/shared/comment NIL /private/comment {4}\r\na\r\nb)\r\n"),
    (.untagged(.metadata(.inbox, [MetadataEntry("/private/blob", value: [0x61, 0x00])], namesOnly: false)),
     "* METADATA INBOX (/private/blob ~{2}\r\na\u{0})\r\n"),
    (.untagged(.metadata("mailbox", [MetadataEntry("/shared/comment"), MetadataEntry("/private/comment")], namesOnly: true)),
     "* METADATA mailbox /shared/comment /private/comment\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .ok, code: .metadata(.longEntries(2199)), "GETMETADATA complete")),
     "a OK [METADATA LONGENTRIES 2199] GETMETADATA complete\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .no, code: .metadata(.maxSize(1024)), "Annotation too large")),
     "a NO [METADATA MAXSIZE 1024] Annotation too large\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .no, code: .metadata(.tooMany), "Too many annotations")),
     "a NO [METADATA TOOMANY] Too many annotations\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .no, code: .metadata(.noPrivate), "Private annotations not supported")),
     "a NO [METADATA NOPRIVATE] Private annotations not supported\r\n"),
    // RFC 5465 3.1, 5.4.
    (.tagged(TaggedResponse(tag: "a", state: .no, code: .badEvent(["MessageNew", "MessageExpunge", "FlagChange"]), "Unsupported event")),
     "a NO [BADEVENT (MessageNew MessageExpunge FlagChange)] Unsupported event\r\n"),
    (.untagged(.list(MailboxListEntry(attributes: [], delimiter: "/", name: "NewMailbox", oldName: "OldMailbox"))),
     "* LIST () \"/\" NewMailbox (\"OLDNAME\" (OldMailbox))\r\n"),
    (.untagged(.list(MailboxListEntry(attributes: [.nonExistent], delimiter: "/", name: "Gone"))), "* LIST (\\NonExistent) \"/\" Gone\r\n"),
    // RFC 8514 4.1.
    (.untagged(.fetch(1, [.saveDate(IMAPDateTime(date: IMAPDate(year: 2020, month: 2, day: 1), hour: 0, minute: 0, second: 0, zoneMinutes: 0))])), "* 1 FETCH (SAVEDATE \" 1-Feb-2020 00:00:00 +0000\")\r\n"),
    (.untagged(.fetch(2, [.saveDate(nil)])), "* 2 FETCH (SAVEDATE NIL)\r\n"),
    (.tagged(TaggedResponse(tag: "a", state: .no, code: .compressionActive, "DEFLATE active via TLS")),
     "a NO [COMPRESSIONACTIVE] DEFLATE active via TLS\r\n"),
    (.untagged(.enabled(["CONDSTORE", "QRESYNC"])), "* ENABLED CONDSTORE QRESYNC\r\n"),
    (.untagged(.enabled([])), "* ENABLED\r\n"),
    (.untagged(.id([IDField("name", "Cyrus"), IDField("version", "1.5"), IDField("support-url", nil)])),
     "* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"support-url\" NIL)\r\n"),
    (.untagged(.id(nil)), "* ID NIL\r\n"),
    (.untagged(.namespace(personal: [NamespaceDescription(prefix: "", delimiter: "/")], otherUsers: [], shared: [])),
     "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"),
    (.untagged(.namespace(personal: [NamespaceDescription(prefix: "", delimiter: "/")], otherUsers: [NamespaceDescription(prefix: "~", delimiter: "/")],
                          shared: [NamespaceDescription(prefix: "#shared/", delimiter: "/"), NamespaceDescription(prefix: "#public/", delimiter: nil)])),
     "* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" NIL))\r\n"),
    (.untagged(.quota(root: "", [QuotaResource(name: "STORAGE", usage: 10, limit: 512)])), "* QUOTA \"\" (STORAGE 10 512)\r\n"),
    (.untagged(.quotaRoot(.inbox, [""])), "* QUOTAROOT INBOX \"\"\r\n"),
    (.untagged(.quotaRoot("comp.mail.mime", [])), "* QUOTAROOT comp.mail.mime\r\n"),
    (.untagged(.vanished(earlier: true, .compact([41, 43, 44, 45, 46]))), "* VANISHED (EARLIER) 41,43:46\r\n"),
    (.untagged(.vanished(earlier: false, SequenceSet(405))), "* VANISHED 405\r\n"),

    // FETCH values
    (.untagged(.fetch(1, [.uid(4827313), .modSeq(12121231000)])), "* 1 FETCH (UID 4827313 MODSEQ (12121231000))\r\n"),
    (.untagged(.fetch(1, [.body(section: SectionSpecifier(part: [1, 2]), origin: 0, data: ByteBuffer(string: "abc"))])),
     "* 1 FETCH (BODY[1.2]<0> {3}\r\nabc)\r\n"),
    (.untagged(.fetch(1, [.body(section: SectionSpecifier(kind: .headerFields(["DATE", "FROM"])), origin: nil, data: ByteBuffer(string: "\r\n"))])),
     "* 1 FETCH (BODY[HEADER.FIELDS (DATE FROM)] {2}\r\n\r\n)\r\n"),
    // Field names that are no atoms are echoed as strings, so the section reads back as it was asked.
    (.untagged(.fetch(1, [.body(section: SectionSpecifier(kind: .headerFieldsNot(["X-]", "A B", "X-A\"B", ""])), origin: nil, data: nil)])),
     "* 1 FETCH (BODY[HEADER.FIELDS.NOT (\"X-]\" \"A B\" \"X-A\\\"B\" \"\")] NIL)\r\n"),
    (.untagged(.fetch(1, [.body(section: SectionSpecifier(part: [3], kind: .mime), origin: nil, data: nil)])), "* 1 FETCH (BODY[3.MIME] NIL)\r\n"),
    (.untagged(.fetch(1, [.binary(section: SectionSpecifier(part: [1]), origin: nil, data: ByteBuffer(bytes: [0x61, 0x00]))])), "* 1 FETCH (BINARY[1] ~{2}\r\na\u{0})\r\n"),
    (.untagged(.fetch(1, [.binary(section: .complete, origin: 10, data: ByteBuffer(string: "xy"))])), "* 1 FETCH (BINARY[]<10> {2}\r\nxy)\r\n"),
    (.untagged(.fetch(1, [.binarySize(section: SectionSpecifier(part: [1, 2]), size: 2013)])), "* 1 FETCH (BINARY.SIZE[1.2] 2013)\r\n"),
    (.untagged(.fetch(1, [.binarySize(section: SectionSpecifier(part: [2], kind: .mime), size: 48)])), "* 1 FETCH (BINARY.SIZE[2.MIME] 48)\r\n"),
    (.untagged(.fetch(1, [.rfc822(ByteBuffer(string: "x")), .rfc822Header(ByteBuffer(string: "h")), .rfc822Text(nil)])),
     "* 1 FETCH (RFC822 {1}\r\nx RFC822.HEADER {1}\r\nh RFC822.TEXT NIL)\r\n"),
    (.untagged(.fetch(1, [.bodyStructure("(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)", extensible: true)])),
     "* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL))\r\n"),
    (.untagged(.fetch(1, [.raw(name: "X-GM-MSGID", value: "123")])), "* 1 FETCH (X-GM-MSGID 123)\r\n"),

    // Continuations
    (.continuation(.ready), "+ Ready for literal data\r\n"),
    (.continuation(.text(ResponseText(text: "idling"))), "+ idling\r\n"),
    (.continuation(.challenge([])), "+ \r\n"),
    (.continuation(.challenge(Array("<1896.697170952@postoffice.example.net>".utf8))),
     "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\r\n"),
]

@Test("responses encode", arguments: encoderVectors)
func responseEncodes(_ response: Response, _ expected: String) {
    #expect(encode(response) == expected)
}

/// A literal cannot carry NUL (CHAR8): BODY and RFC822 send it as 0x80, same length; BINARY keeps it
/// in a literal8.
@Test("NUL in message bytes")
func nulInMessageBytes() {
    let bytes = ByteBuffer(bytes: [0x61, 0x00, 0x62])
    let body = ResponseEncoder().encode(.untagged(.fetch(1, [.body(section: SectionSpecifier(), origin: nil, data: bytes)])))
    #expect(Array(body.readableBytesView) == Array("* 1 FETCH (BODY[] {3}\r\na".utf8) + [0x80] + Array("b)\r\n".utf8))
    let rfc822 = ResponseEncoder().encode(.untagged(.fetch(1, [.rfc822(bytes)])))
    #expect(Array(rfc822.readableBytesView) == Array("* 1 FETCH (RFC822 {3}\r\na".utf8) + [0x80] + Array("b)\r\n".utf8))
    let binary = ResponseEncoder().encode(.untagged(.fetch(1, [.binary(section: .complete, origin: nil, data: bytes)])))
    #expect(Array(binary.readableBytesView) == Array("* 1 FETCH (BINARY[] ~{3}\r\na".utf8) + [0x00] + Array("b)\r\n".utf8))
}

/// Strings: atom, quoted (escaped) or literal as the bytes require.
let stringVectors: [(String, String, String)] = [
    // (value, as astring, as string)
    ("INBOX", "INBOX", "\"INBOX\""),
    ("", "\"\"", "\"\""),
    ("two words", "\"two words\"", "\"two words\""),
    ("quote\"d", "\"quote\\\"d\"", "\"quote\\\"d\""),
    ("back\\slash", "\"back\\\\slash\"", "\"back\\\\slash\""),
    ("a(b", "\"a(b\"", "\"a(b\""),
    ("x]y", "x]y", "\"x]y\""),
    ("line\r\nbreak", "{11}\r\nline\r\nbreak", "{11}\r\nline\r\nbreak"),
    ("caf\u{00E9}", "{5}\r\ncaf\u{00E9}", "{5}\r\ncaf\u{00E9}"),
    ("NIL", "\"NIL\"", "\"NIL\""),
    ("nil", "\"nil\"", "\"nil\""),
]

@Test("strings go out as atom, quoted or literal", arguments: stringVectors)
func stringEncoding(_ value: String, _ astring: String, _ string: String) {
    var writer = ResponseWriter()
    writer.writeAString(value)
    #expect(String(decoding: writer.buffer.readableBytesView, as: UTF8.self) == astring)
    var writer2 = ResponseWriter()
    writer2.writeIMAPString(value)
    #expect(String(decoding: writer2.buffer.readableBytesView, as: UTF8.self) == string)
}

@Test("UTF8=ACCEPT lets UTF-8 go out quoted, but never CR/LF or broken UTF-8")
func utf8Accepted() {
    var writer = ResponseWriter(utf8Accepted: true)
    writer.writeIMAPString("caf\u{00E9}")
    writer.writeString(" ")
    writer.writeIMAPString([0x61, 0xFF])
    writer.writeString(" ")
    writer.writeNString(nil)
    #expect(Array(writer.buffer.readableBytesView) == Array("\"caf\u{00E9}\" {2}\r\na".utf8) + [0xFF] + Array(" NIL".utf8))
}

@Test("parse errors encode as the documented responses")
func parseErrorResponses() {
    let bad = CommandParseError(tag: "a1", kind: .badSyntax, message: "Missing argument")
    #expect(encode(bad.response) == "a1 BAD Missing argument\r\n")
    let noTag = CommandParseError(tag: nil, kind: .badSyntax, message: "Invalid tag")
    #expect(encode(noTag.response) == "* BAD Invalid tag\r\n")
}
