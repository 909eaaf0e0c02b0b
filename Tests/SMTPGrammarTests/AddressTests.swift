import Testing
@testable import SMTPGrammar

/// Mailbox text -> local part (unquoted) and domain. RFC 5321 section 4.1.2, RFC 6531 section 3.3.
let addressVectors: [(String, String, SMTPDomain)] = [
    ("Smith@bar.com", "Smith", .name("bar.com")),
    ("Admin.MRC@foo.com", "Admin.MRC", .name("foo.com")),
    ("a@b", "a", .name("b")),
    ("user+tag@example.com", "user+tag", .name("example.com")),
    ("!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~", .name("example.com")),
    ("x@1.2.3.4.example", "x", .name("1.2.3.4.example")),
    ("x@a-b.c-d.example", "x", .name("a-b.c-d.example")),
    ("x@123", "x", .name("123")),
    // Quoted local parts: the quoting is removed, escapes resolved
    ("\"john doe\"@example.com", "john doe", .name("example.com")),
    ("\"a\\\"b\"@example.com", "a\"b", .name("example.com")),
    ("\"a\\\\b\"@example.com", "a\\b", .name("example.com")),
    ("\"\\a\"@example.com", "a", .name("example.com")),
    ("\"a@b\"@example.com", "a@b", .name("example.com")),
    ("\"\"@example.com", "", .name("example.com")),
    ("\"smith\"@example.com", "smith", .name("example.com")),
    // Address literals
    ("x@[192.0.2.1]", "x", .ipv4("192.0.2.1")),
    ("x@[0.0.0.0]", "x", .ipv4("0.0.0.0")),
    ("x@[255.255.255.255]", "x", .ipv4("255.255.255.255")),
    ("x@[001.02.3.4]", "x", .ipv4("001.02.3.4")),
    ("x@[IPv6:2001:db8::1]", "x", .ipv6("2001:db8::1")),
    ("x@[ipv6:2001:DB8:0:0:0:0:0:1]", "x", .ipv6("2001:DB8:0:0:0:0:0:1")),
    ("x@[IPv6:::1]", "x", .ipv6("::1")),
    ("x@[IPv6:1::]", "x", .ipv6("1::")),
    ("x@[IPv6:::]", "x", .ipv6("::")),
    ("x@[IPv6:1:2:3:4:5:6::]", "x", .ipv6("1:2:3:4:5:6::")),
    ("x@[IPv6:1:2:3:4:5:6:1.2.3.4]", "x", .ipv6("1:2:3:4:5:6:1.2.3.4")),
    ("x@[IPv6:::ffff:192.0.2.1]", "x", .ipv6("::ffff:192.0.2.1")),
    ("x@[IPv6:::1.2.3.4]", "x", .ipv6("::1.2.3.4")),
    ("x@[IPv6:1:2:3:4::1.2.3.4]", "x", .ipv6("1:2:3:4::1.2.3.4")),
    ("x@[X-Tag:anything-goes.here]", "x", .general(tag: "X-Tag", content: "anything-goes.here")),
    // RFC 6531: UTF-8 in the local part and U-labels in the domain
    ("用户@例子.广告", "用户", .name("例子.广告")),
    ("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή", .name("παράδειγμα.δοκιμή")),
    ("\"用 户\"@example.com", "用 户", .name("example.com")),
    ("ñoño@xn--exmple-cua.com", "ñoño", .name("xn--exmple-cua.com")),
]

@Test("addresses parse", arguments: addressVectors)
func addressParses(_ text: String, _ localPart: String, _ domain: SMTPDomain) throws {
    let address = try SMTPAddress(parsing: text)
    #expect(address.localPart == localPart)
    #expect(address.domain == domain)
    // The wire form parses back to the same address.
    #expect(try SMTPAddress(parsing: address.description) == address)
}

@Test("addresses that do not parse", arguments: [
    "", "@example.com", "a@", "a", "a@@b", "a.@b", ".a@b", "a..b@c", "a b@c", "a\"b@c", "a(b)@c", "a,b@c", "a@b c",
    "\"a\"b@c", "\"a\\\u{1}\"@c", "\"a\u{1}\"@c", "\"a@c", "a@[1.2.3.4", "a@[1.2.3]", "a@[1.2.3.4.5]", "a@[256.1.1.1]",
    "a@[1.2.3.1234]", "a@[]", "a@[IPv6:1:2:3:4:5:6:7]", "a@[IPv6:1:2:3:4:5:6:7:8:9]", "a@[IPv6:1::2::3]", "a@[IPv6:12345::]",
    "a@[IPv6:1:2:3:4:5:6:7::]", "a@[IPv6:g::]", "a@[IPv6:1:2:3:4:5::1.2.3.4]", "a@[IPv6:1:2:3:4:5:1.2.3.4]",
    "a@[IPv6:1.2.3.4]", "a@[IPv6::::]", "a@[IPv6:1:]", "a@[-tag:x]", "a@[tag:]", "a@[a[b]", "a@b_c.d", "a@-b.c", "a@b-.c",
    "a@b..c", "a@.b", "a@b.", "a@b\u{7F}c",
])
func addressRejected(_ text: String) {
    #expect(throws: SMTPAddressError.self) { try SMTPAddress(parsing: text) }
}

@Test("quoted local parts are quoted again when written")
func wireLocalPart() {
    #expect(SMTPAddress(localPart: "john doe", domain: .name("x")).description == "\"john doe\"@x")
    #expect(SMTPAddress(localPart: "a\"b\\c", domain: .name("x")).description == "\"a\\\"b\\\\c\"@x")
    #expect(SMTPAddress(localPart: "a.b", domain: .name("x")).description == "a.b@x")
    #expect(SMTPAddress(localPart: "", domain: .name("x")).description == "\"\"@x")
    #expect(SMTPAddress(localPart: "a..b", domain: .name("x")).description == "\"a..b\"@x")
    #expect(SMTPAddress(localPart: "用户", domain: .name("例子.广告")).description == "用户@例子.广告")
}

@Test("domains write their literal form")
func domainDescriptions() throws {
    #expect(SMTPDomain.ipv4("192.0.2.1").description == "[192.0.2.1]")
    #expect(SMTPDomain.ipv6("::1").description == "[IPv6:::1]")
    #expect(SMTPDomain.general(tag: "X", content: "y").description == "[X:y]")
    #expect(try SMTPDomain(parsing: "[IPv6:::1]") == .ipv6("::1"))
    #expect(try SMTPDomain(parsing: "mail.example.com") == .name("mail.example.com"))
    #expect(try SMTPDomain(parsing: "[192.0.2.1]").isAddressLiteral)
    #expect(throws: SMTPAddressError.self) { try SMTPDomain(parsing: "my_host") }
    #expect(throws: SMTPAddressError.self) { try SMTPDomain(parsing: "a.example x") }
}

@Test("needsSMTPUTF8 tells when an address has non-ASCII characters")
func needsSMTPUTF8() throws {
    #expect(try SMTPAddress(parsing: "user@example.com").needsSMTPUTF8 == false)
    #expect(try SMTPAddress(parsing: "用户@example.com").needsSMTPUTF8)
    #expect(try SMTPAddress(parsing: "user@例子.广告").needsSMTPUTF8)
    #expect(try SMTPAddress(parsing: "\"ü\"@example.com").needsSMTPUTF8)
    #expect(try SMTPAddress(parsing: "user@xn--fsqu00a.xn--3lr804guic").needsSMTPUTF8 == false)
    #expect(try SMTPPath(parsing: "<用户@例子.广告>").needsSMTPUTF8)
    #expect(SMTPPath.postmaster.needsSMTPUTF8 == false)
    #expect(SMTPDomain.ipv4("1.2.3.4").needsSMTPUTF8 == false)
}

@Test("paths: source routes are dropped, Postmaster is special")
func paths() throws {
    #expect(try SMTPPath(parsing: "<@hosta.int,@jkl.org:userc@d.bar.org>") == mailbox("userc@d.bar.org"))
    #expect(try SMTPPath(parsing: "<POSTMASTER>") == .postmaster)
    #expect(try SMTPPath(parsing: "<Postmaster@example.com>") == mailbox("Postmaster@example.com"))
    #expect(try SMTPPath(parsing: "<a@b.example>").address == address("a@b.example"))
    #expect(SMTPPath.postmaster.address == nil)
    #expect(SMTPPath.postmaster.description == "<Postmaster>")
    #expect(mailbox("a@b.example").description == "<a@b.example>")
    #expect(throws: SMTPAddressError.self) { try SMTPPath(parsing: "<>") }
    #expect(throws: SMTPAddressError.self) { try SMTPPath(parsing: "<a@b.example> ") }
    #expect(throws: SMTPAddressError.self) { try SMTPPath(parsing: "<@:a@b.example>") }
    #expect(throws: SMTPAddressError.self) { try SMTPPath(parsing: "<@[1.2.3.4]:a@b.example>") }
}
