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

    /// The one-pass parser against the rules written out plainly (split on `@` and `.`), on many
    /// strings built from the characters that decide: the same addresses accepted, the same refused.
    @Test func theParserAgreesWithTheRulesWrittenOut() {
        func reference(_ text: String) -> String? {
            let trimmed = text.trimmingWhitespace()
            guard !trimmed.isEmpty, trimmed.utf8.count <= 254 else { return nil }
            let pieces = trimmed.split(separator: "@", omittingEmptySubsequences: false)
            guard pieces.count == 2 else { return nil }
            let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~".utf8)
            let alnum = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
            let local = pieces[0], domain = pieces[1]
            guard (1...64).contains(local.utf8.count),
                  local.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(atext.contains) }),
                  (1...253).contains(domain.utf8.count),
                  domain.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ label in
                      let bytes = Array(label.utf8)
                      return (1...63).contains(bytes.count) && alnum.contains(bytes.first!) && alnum.contains(bytes.last!)
                          && bytes.allSatisfy { alnum.contains($0) || $0 == UInt8(ascii: "-") }
                  }) else { return nil }
            return trimmed
        }
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "Z", "9", ".", "@", "-", "+", "_", "'", "~", " ", "\t", "\r\n", "\"", "é", "(", "..", "@@",
                      String(repeating: "x", count: 60), String(repeating: "y", count: 70)]
        var accepted = 0
        for _ in 0..<20_000 {
            func part() -> String {
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            }
            // Half of them shaped as an address, so that both sides of the rules are reached.
            let text = Bool.random(using: &generator) ? part() + part() : "a" + part() + "@b" + part() + ".c" + part()
            let parsed = EmailAddress(text)
            #expect(parsed?.address == reference(text), "\(text.debugDescription)")
            #expect(parsed?.normalized == reference(text)?.lowercased(), "\(text.debugDescription)")
            if parsed != nil { accepted += 1 }
        }
        // The strings reach both sides of the rules.
        #expect(accepted > 100)
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
