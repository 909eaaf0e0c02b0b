import MailCore
import Testing

@Suite struct BCryptTests {
    @Test func hashesAndVerifies() throws {
        let hash = try BCrypt.hash("Correct-Horse-Battery9", cost: 4)
        #expect(hash.hasPrefix("$2b$04$"))
        #expect(hash.count == 60)
        #expect(BCrypt.verify("Correct-Horse-Battery9", against: hash))
        #expect(!BCrypt.verify("Correct-Horse-Battery8", against: hash))
    }

    @Test func saltsDiffer() throws {
        #expect(try BCrypt.hash("Same-Password-123456", cost: 4) != BCrypt.hash("Same-Password-123456", cost: 4))
    }

    /// A known vector (OpenBSD's test suite, also used by libxcrypt) proves we speak standard bcrypt.
    @Test func verifiesAKnownHash() {
        #expect(BCrypt.verify("U*U", against: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"))
    }

    @Test func refusesGarbageHashes() {
        #expect(!BCrypt.verify("anything", against: ""))
        #expect(!BCrypt.verify("anything", against: "*0"))
        #expect(!BCrypt.verify("anything", against: "$2b$04$short"))
    }

    @Test func refusesCostOutsideRange() {
        #expect(throws: BCrypt.Failure.self) { try BCrypt.hash("Abcdefghijklmnop12", cost: 3) }
        #expect(throws: BCrypt.Failure.self) { try BCrypt.hash("Abcdefghijklmnop12", cost: 32) }
    }
}
