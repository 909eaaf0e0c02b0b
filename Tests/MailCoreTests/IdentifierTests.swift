import MailCore
import Testing

@Suite struct IdentifierTests {
    @Test(arguments: ["agent@example.com", "First.Last+tag@mail.example.co.uk", "a@b.c", "o'brien@x-y.example"])
    func acceptsAddresses(_ text: String) {
        #expect(EmailAddress(text) != nil)
    }

    @Test(arguments: ["", "no-at-sign", "two@@example.com", "@example.com", "user@", "user@-bad.com", "user@bad-.com",
                      "a b@example.com", ".lead@example.com", "trail.@example.com", "do..ts@example.com", "user@exa mple.com",
                      "\"quoted\"@example.com"])
    func refusesAddresses(_ text: String) {
        #expect(EmailAddress(text) == nil)
    }

    @Test func addressesCompareWithoutCase() {
        #expect(EmailAddress("Agent@Example.COM") == EmailAddress("agent@example.com"))
        #expect(EmailAddress("Agent@Example.COM")?.normalized == "agent@example.com")
        #expect(EmailAddress("Agent@Example.COM")?.address == "Agent@Example.COM")
    }

    @Test func addressLengthBound() {
        let local = String(repeating: "a", count: 64)
        let domain = String(repeating: "b", count: 63) + "." + String(repeating: "c", count: 63) + "." + String(repeating: "d", count: 61)
        #expect(EmailAddress("\(local)@\(domain)")?.address.count == EmailAddress.maximumLength)
        #expect(EmailAddress("\(local)@\(domain)d") == nil)
        #expect(EmailAddress(String(repeating: "a", count: 65) + "@example.com") == nil)
    }

    @Test func grantIDsAreLowerCaseUUIDs() {
        let id = GrantID.random()
        #expect(GrantID.isWellFormed(id.rawValue))
        #expect(id != GrantID.random())
        #expect(GrantID(rawValue: "6F1C9A2E-0000-4000-8000-000000000000") == nil)
        #expect(GrantID(rawValue: "6f1c9a2e-0000-4000-8000-000000000000") != nil)
        #expect(GrantID(rawValue: "'; DROP TABLE grants; --") == nil)
    }

    @Test func regionNames() {
        #expect(Region(rawValue: "us") != nil)
        #expect(Region(rawValue: "US") == nil)
        #expect(Region(rawValue: "") == nil)
        #expect(Region(rawValue: "eu-west") == nil)
    }

    @Test func systemFoldersFollowTheSeed() {
        #expect(SystemFolder.allCases.map { "\($0.imapName)/\($0.apiID) \($0.specialUse)" } == [
            "INBOX/inbox \\Inbox", "Sent/sent \\Sent", "Drafts/drafts \\Drafts",
            "Trash/trash \\Trash", "Junk/junk \\Junk", "Archive/archive \\Archive",
        ])
    }
}
