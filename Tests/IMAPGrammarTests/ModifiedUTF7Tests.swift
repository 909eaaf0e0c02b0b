import Testing
@testable import IMAPGrammar

/// Modified UTF-7 (RFC 3501 section 5.1.3): Unicode name <-> wire form.
let modifiedUTF7Vectors: [(String, String)] = [
    ("~peter/mail/\u{53F0}\u{5317}/\u{65E5}\u{672C}\u{8A9E}", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  // RFC 3501 example
    ("INBOX", "INBOX"),
    ("Sent Items", "Sent Items"),
    ("Tom & Jerry", "Tom &- Jerry"),
    ("&", "&-"),
    ("&&", "&-&-"),
    ("Entw\u{00FC}rfe", "Entw&APw-rfe"),
    ("\u{00E9}t\u{00E9}", "&AOk-t&AOk-"),
    ("\u{041F}\u{043E}\u{0447}\u{0442}\u{0430}", "&BB8EPgRHBEIEMA-"),
    ("\u{1F600}", "&2D3eAA-"),  // a surrogate pair
    ("a\u{00E9}\u{00E9}b", "a&AOkA6Q-b"),
    ("", ""),
]

@Test("modified UTF-7 encodes", arguments: modifiedUTF7Vectors)
func modifiedUTF7Encodes(_ name: String, _ wire: String) {
    #expect(ModifiedUTF7.encode(name) == wire)
}

@Test("modified UTF-7 decodes", arguments: modifiedUTF7Vectors)
func modifiedUTF7Decodes(_ name: String, _ wire: String) throws {
    #expect(try ModifiedUTF7.decode(wire) == name)
}

/// Not valid modified UTF-7.
let invalidModifiedUTF7: [String] = [
    "&U,BTFw",          // unterminated shift
    "&AGE-",            // "a" (printable ASCII) must not be encoded
    "&U/BTFw-",         // "/" is not in the modified alphabet
    "&AOk=-",           // padding is not used
    "&AOl-",            // non-zero trailing bits
    "&2D0-",            // lone high surrogate
    "&AOk-&AOk-",       // adjacent shifts must be merged
    "caf\u{00E9}",      // raw 8-bit
    "tab\there",        // control character
]

@Test("modified UTF-7 rejects", arguments: invalidModifiedUTF7)
func modifiedUTF7Rejects(_ wire: String) {
    #expect(throws: ModifiedUTF7.DecodingError.self) { try ModifiedUTF7.decode(wire) }
}

@Test("mailbox names: INBOX is case-insensitive, others are not")
func mailboxNames() throws {
    #expect(MailboxName(wire: "inbox") == .inbox)
    #expect(MailboxName(wire: "InBoX").isInbox)
    #expect(MailboxName(wire: "INBOX.Sent").wire == "INBOX.Sent")
    #expect(MailboxName(wire: "inbox/sub").wire == "inbox/sub")
    #expect(MailboxName(wire: "Sent") != MailboxName(wire: "sent"))
    #expect(MailboxName(decoded: "Entw\u{00FC}rfe").wire == "Entw&APw-rfe")
    #expect(try MailboxName(wire: "Entw&APw-rfe").decoded() == "Entw\u{00FC}rfe")
    // UTF8=ACCEPT clients send UTF-8 directly.
    #expect(try MailboxName(wire: "Entw\u{00FC}rfe").decoded() == "Entw\u{00FC}rfe")
}

@Test("base64 round trip")
func base64() {
    for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar", "\u{0}user\u{0}pass"] {
        let encoded = Base64.encode(Array(text.utf8))
        #expect(Base64.decode(Array(encoded.utf8)) == Array(text.utf8))
    }
    #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
    #expect(Base64.decode(Array("Zm9=YmFy".utf8)) == nil)
    #expect(Base64.decode(Array("Zm9".utf8)) == nil)
}
