import Testing
@testable import MIME

/// RFC 2047 section 8 examples, plus charset and joining cases.
@Suite struct EncodedWordTests {
    static let vectors: [(String, String)] = [
        ("=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"),
        ("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen"),
        ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
        ("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
         "If you can read this you understand the example."),
        ("(=?ISO-8859-1?Q?a?=)", "(a)"),
        ("(=?ISO-8859-1?Q?a?= b)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a_b?=)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"),
        // A multibyte character split across two words (joined before conversion).
        ("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=", "café"),
        // iconv charsets.
        ("=?KOI8-R?B?8NLJ18XU?=", "Привет"),
        ("=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは"),
        ("=?windows-1252?Q?=93quoted=94?=", "“quoted”"),
        // RFC 2231 section 5 language suffix.
        ("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"),
        // Malformed words stay as written.
        ("=?utf-8?x?abc?=", "=?utf-8?x?abc?="),
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        ("plain text", "plain text"),
        // Lowercase encoding letter and missing padding.
        ("=?utf-8?b?w6k?=", "é"),
    ]

    @Test(arguments: vectors)
    func decodes(input: String, expected: String) {
        #expect(EncodedWord.decode(Array(input.utf8)) == expected)
    }

    @Test(arguments: [MIMELimits.maximumEncodedWordCount, MIMELimits.maximumEncodedWordCount + 1])
    func encodedWordCountLimit(count: Int) {
        let value = Array(repeating: "=?utf-8?q?a?=", count: count).joined(separator: " ")
        let decoded = EncodedWord.decode(Array(value.utf8))
        if count <= MIMELimits.maximumEncodedWordCount {
            #expect(decoded == String(repeating: "a", count: count))
        } else {
            #expect(decoded == String(repeating: "a", count: MIMELimits.maximumEncodedWordCount) + " =?utf-8?q?a?=")
        }
    }

    @Test func unknownCharsetKeepsBytes() {
        let decoded = Charset.decode(Array("abc\u{e9}".utf8), charset: "x-no-such-charset")
        #expect(decoded.text == "abcé")
        #expect(!decoded.charsetRecognized)
    }

    @Test(arguments: ["Café at 10?", "日本語のテキストがここに長く続いていきます。日本語のテキストがここに長く続いていきます。", "plain"])
    func encodeRoundTrips(text: String) {
        let words = EncodedWord.encode(text)
        #expect(words.allSatisfy { $0.utf8.count <= 75 })
        #expect(EncodedWord.decode(Array(words.joined(separator: " ").utf8)) == text)
    }
}

/// RFC 2231 examples (sections 3, 4, 4.1) and the forms real mail uses.
@Suite struct ParameterTests {
    static let vectors: [(String, String, String)] = [
        ("message/external-body; access-type=URL; URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
         "url", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"),
        ("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", "title", "This is ***fun***"),
        ("application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
         "title", "This is even more ***fun*** isn't it!"),
        ("application/pdf; name*=UTF-8''%E2%82%AC%20rates.pdf", "name", "€ rates.pdf"),
        ("application/msword; name=\"=?utf-8?b?w6kuZG9j?=\"", "name", "é.doc"),
        ("multipart/mixed; boundary=\"a;b=c\"", "boundary", "a;b=c"),
        ("text/plain; charset=\"utf-8\" (comment)", "charset", "utf-8"),
        ("application/octet-stream; name=file name.pdf", "name", "file name.pdf"),
        ("text/plain; charset=ISO-8859-1; format=flowed", "format", "flowed"),
        ("application/x; a*1=\"two\"; a*0=\"one\"", "a", "onetwo"),
        ("application/x; name*0*=iso-8859-1''%E9t%E9; name*1=.txt", "name", "été.txt"),
    ]

    @Test(arguments: vectors)
    func parameterValue(header: String, name: String, expected: String) {
        #expect(ContentType.parse(Array(header.utf8))?.parameter(name) == expected)
    }

    @Test func extendedParameterWireForm() {
        let type = ContentType.parse(Array("application/pdf; name*0*=UTF-8''%E2%82%AC; name*1*=%20rates.pdf".utf8))
        #expect(type?.parameters.first?.wireName == "name*")
        #expect(type?.parameters.first?.wireValue == "UTF-8''%E2%82%AC%20rates.pdf")
    }

    @Test(arguments: [("text/html", "text", "html"), ("TEXT/Plain", "text", "plain"), (" multipart / mixed ;boundary=x", "multipart", "mixed")])
    func typeAndSubtype(header: String, type: String, subtype: String) {
        let parsed = ContentType.parse(Array(header.utf8))
        #expect(parsed?.type == type)
        #expect(parsed?.subtype == subtype)
    }

    @Test(arguments: ["text", "", "/plain", "; charset=x"])
    func invalidContentType(header: String) {
        #expect(ContentType.parse(Array(header.utf8)) == nil)
    }
}
