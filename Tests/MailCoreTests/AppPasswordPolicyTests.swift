import MailCore
import Testing

@Suite struct AppPasswordPolicyTests {
    @Test(arguments: [
        "Abcdefghijklmnop12",                         // 18: the shortest allowed
        "Abcdefghijklmnopqrstuvwxyz0123456789ABCD",   // 40: the longest allowed
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~aA1xxxxx",  // every printable ASCII punctuation mark
        "~Zz9~~~~~~~~~~~~~~",                          // the edges 126 and the letter ranges
    ])
    func accepts(_ password: String) throws {
        try AppPasswordPolicy.validate(password)
    }

    @Test(arguments: [
        ("Abcdefghijklmnop1", AppPasswordPolicy.Violation.length(actual: 17)),
        ("Abcdefghijklmnopqrstuvwxyz0123456789ABCDE", .length(actual: 41)),
        ("", .length(actual: 0)),
        ("Abcdefgh ijklmnop12", .characterOutsidePrintableASCII),
        ("Abcdefgh\tijklmnop12", .characterOutsidePrintableASCII),
        ("Abcdefghéijklmnop12", .characterOutsidePrintableASCII),
        ("Abcdefgh\u{7F}ijklmnop12", .characterOutsidePrintableASCII),
        ("abcdefghijklmnop12", .missingUppercaseLetter),
        ("ABCDEFGHIJKLMNOP12", .missingLowercaseLetter),
        ("Abcdefghijklmnopqr", .missingDigit),
    ])
    func refuses(_ password: String, _ expected: AppPasswordPolicy.Violation) {
        #expect(throws: expected) { try AppPasswordPolicy.validate(password) }
    }

    @Test func messagesNameTheRule() {
        #expect(AppPasswordPolicy.Violation.length(actual: 17).description.contains("18 to 40"))
        #expect(AppPasswordPolicy.Violation.characterOutsidePrintableASCII.description.contains("printable ASCII"))
        #expect(AppPasswordPolicy.Violation.missingDigit.description.contains("digit"))
        #expect(AppPasswordPolicy.Violation.missingUppercaseLetter.description.contains("upper case"))
        #expect(AppPasswordPolicy.Violation.missingLowercaseLetter.description.contains("lower case"))
    }
}
