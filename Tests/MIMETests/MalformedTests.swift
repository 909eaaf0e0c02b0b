import Testing
@testable import MIME

/// How malformed input degrades, and the limits of `MIMELimits`, each at and one past the bound.
@Suite struct MalformedTests {
    @Test func missingFinalBoundary() {
        let message = Fixture.message("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n")
        #expect(message.root.children.count == 2)
        #expect(message.string(message.rawBody(of: message.root.children[1])) == "two\r\n")
    }

    @Test func boundaryInQuotedStringAndGarbageBeforeFirstPart() {
        let message = Fixture.message("Content-Type: multipart/mixed; boundary=\"a;b c\"\n\ngarbage\n--a;b c\n\none\n--a;b c--\n")
        #expect(message.root.children.count == 1)
        #expect(message.string(message.rawBody(of: message.root.children[0])) == "one")
    }

    /// RFC 2046 5.1.1: "it is sufficient that the boundary appear in its entirety following the
    /// CRLF": a line that starts with the delimiter is one, whatever follows on it.
    @Test func aLineStartingWithTheDelimiterIsADelimiter() {
        let message = Fixture.message("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bb is text\nmore\n--b--\n")
        #expect(message.root.children.map { message.string(message.rawBody(of: $0)) } == ["", ""])
        #expect(message.string(message.bytes[message.root.children[1].headerRange]) == "more")
    }

    /// A multipart that reuses its parent's boundary (RFC 2046 5.1.2 forbids it) owns the
    /// delimiters up to its own close delimiter; the parent's parts go on after it.
    @Test func aNestedMultipartReusingItsParentsBoundaryOwnsItsDelimiters() {
        let message = Fixture.message("""
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: multipart/alternative; boundary=b

            --b

            one
            --b

            two
            --b--
            --b

            three
            --b--

            """)
        #expect(Fixture.shape(message.root) == "multipart/mixed(multipart/alternative(text/plain,text/plain),text/plain)")
        let inner = message.root.children[0].children
        #expect(inner.map { message.string(message.rawBody(of: $0)) } == ["one", "two"])
        #expect(message.string(message.rawBody(of: message.root.children[1])) == "three")
        // Three levels on one boundary: each close delimiter ends the innermost open level.
        let deep = Fixture.message("""
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: multipart/alternative; boundary=b

            --b

            one
            --b--
            --b

            two
            --b--
            --b

            three
            --b--

            """)
        #expect(Fixture.shape(deep.root) == "multipart/mixed(multipart/mixed(multipart/alternative(text/plain),text/plain),text/plain)")
    }

    /// Without a boundary parameter, or with no delimiter in the body, the body is all preamble:
    /// the part stays a multipart, with one empty text part.
    @Test(arguments: [
        "Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n",
        "Content-Type: multipart/mixed; boundary=b\n\nonly preamble\n",
    ])
    func aMultipartWithoutDelimitersHasOneEmptyPart(_ text: String) {
        let message = Fixture.message(text)
        #expect(Fixture.shape(message.root) == "multipart/mixed(text/plain)")
        #expect(message.root.children.map { message.string(message.rawBody(of: $0)) } == [""])
    }

    /// RFC 2046 5.1.1 at its edges: the CRLF before a delimiter belongs to the delimiter; a
    /// delimiter line may end in transport padding; preamble and epilogue belong to no part; a part
    /// that no delimiter ends runs to the end of its enclosing body, the enclosing multipart's own
    /// delimiter ending a nested multipart that lacks its close.
    @Test(arguments: [
        ("padding after delimiters", "--b  \n\none\n--b\t\n\ntwo\n--b-- \n", ["one", "two"]),
        ("an empty part", "--b\n\n--b\n\ntwo\n--b--\n", ["", "two"]),
        ("an empty line ending a part", "--b\n\none\n\n--b--\n", ["one\r\n"]),
        ("missing close, last line with CRLF", "pre\n--b\n\none\n", ["one\r\n"]),
        ("missing close, last line without CRLF", "--b\n\none", ["one"]),
        ("epilogue with a delimiter-looking line", "--b\n\none\n--b--\n--b\n\nnot a part\n", ["one"]),
    ])
    func delimiterConventions(_ name: String, _ body: String, _ parts: [String]) {
        let message = Fixture.message("Content-Type: multipart/mixed; boundary=b\n\n" + body)
        #expect(message.root.children.map { message.string(message.rawBody(of: $0)) } == parts, "\(name)")
    }

    @Test func anOuterDelimiterEndsANestedMultipartWithoutItsClose() {
        let message = Fixture.message("""
            Content-Type: multipart/mixed; boundary=outer

            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner

            plain
            --outer

            after
            --outer--

            """)
        #expect(message.root.children.count == 2)
        let nested = message.root.children[0]
        #expect(nested.children.count == 1)
        #expect(message.string(message.rawBody(of: nested.children[0])) == "plain")
        #expect(message.string(message.rawBody(of: message.root.children[1])) == "after")
        #expect(message.bodyStructure(extensible: false)
                == #"((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0) "alternative")("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0) "mixed")"#)
    }

    @Test func headerWithoutBody() {
        let message = MIMEMessage.parse(Array("Subject: only a header\r\nFrom: a@b.c\r\n".utf8))
        #expect(message.subject() == "only a header")
        #expect(message.root.bodyRange.isEmpty)
        #expect(message.bodyStructure(extensible: false) == #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)"#)
    }

    @Test func partWithoutHeaderAndBareLineFeeds() {
        let message = MIMEMessage.parse(Array("Content-Type: multipart/mixed; boundary=x\n\n--x\n\nbody\n--x--\n".utf8))
        #expect(message.root.children.first?.headerRange.count == 1)
        #expect(message.string(message.rawBody(of: message.root.children[0])) == "body")
    }

    @Test(arguments: [[], [0x0A], [0x0D, 0x0A], Array("--".utf8), Array(":\r\n\r\n".utf8), Array(" folded\r\n".utf8)] as [[UInt8]])
    func degenerateInputs(bytes: [UInt8]) {
        let message = MIMEMessage.parse(bytes)
        _ = message.bodyStructure(extensible: true)
        _ = message.envelope
        _ = message.summary()
    }

    static func nestedMultipart(levels: Int) -> [UInt8] {
        var text = "leaf\r\n"
        var header = "Content-Type: text/plain\r\n\r\n"
        for level in 0..<levels {
            text = header + text
            text = "--b\(level)\r\n" + text + "\r\n--b\(level)--\r\n"
            header = "Content-Type: multipart/mixed; boundary=b\(level)\r\n\r\n"
        }
        return Array((header + text).utf8)
    }

    @Test(arguments: [MIMELimits.maximumNestingDepth, MIMELimits.maximumNestingDepth + 1])
    func nestingDepthLimit(levels: Int) {
        let message = MIMEMessage.parse(Self.nestedMultipart(levels: levels))
        var part = message.root
        var depth = 0
        while let child = part.children.first { part = child; depth += 1 }
        if levels <= MIMELimits.maximumNestingDepth {
            #expect(part.contentType.mimeType == "text/plain")
            #expect(depth == levels)
        } else {
            #expect(part.wasTruncated)
            #expect(part.contentType == .opaque)
            #expect(depth == MIMELimits.maximumNestingDepth)
        }
        #expect(!message.bodyStructure(extensible: true).isEmpty)
    }

    @Test(arguments: [MIMELimits.maximumPartCount - 1, MIMELimits.maximumPartCount])
    func partCountLimit(children: Int) {
        var text = "Content-Type: multipart/mixed; boundary=p\r\n\r\n"
        for _ in 0..<children { text += "--p\r\n\r\nx\r\n" }
        text += "--p--\r\n"
        let message = MIMEMessage.parse(Array(text.utf8))
        // The top-level message counts as one part.
        #expect(message.root.children.count == min(children, MIMELimits.maximumPartCount - 1))
        #expect(message.root.wasTruncated == (children >= MIMELimits.maximumPartCount))
    }

    @Test(arguments: [MIMELimits.maximumHeaderFieldCount, MIMELimits.maximumHeaderFieldCount + 1])
    func headerFieldLimit(fields: Int) {
        var text = ""
        for index in 0..<fields { text += "X-Field-\(index): v\r\n" }
        text += "\r\nbody"
        let message = MIMEMessage.parse(Array(text.utf8))
        #expect(message.root.headers.count == min(fields, MIMELimits.maximumHeaderFieldCount))
        // Fields past the limit stay in the header bytes.
        #expect(message.string(message.bytes(for: SectionSpec(text: .text))) == "body")
    }

    @Test(arguments: [MIMELimits.maximumTotalHeaderFieldCount, MIMELimits.maximumTotalHeaderFieldCount + 1])
    func totalHeaderFieldLimit(fields: Int) {
        // Parts of 1,000 fields each (the per-block limit), plus the rest in a last part.
        let perPart = MIMELimits.maximumHeaderFieldCount
        var text = "Content-Type: multipart/mixed; boundary=f\r\n\r\n"
        var remaining = fields - 1  // the top-level Content-Type counts too
        while remaining > 0 {
            let count = min(perPart, remaining)
            text += "--f\r\n" + String(repeating: "X: v\r\n", count: count) + "\r\nbody\r\n"
            remaining -= count
        }
        text += "--f--\r\n"
        let message = MIMEMessage.parse(Array(text.utf8))
        let indexed = ([message.root] + message.root.descendants).reduce(0) { $0 + $1.headers.count }
        #expect(indexed == min(fields, MIMELimits.maximumTotalHeaderFieldCount))
        // Every part is still found, with its body.
        #expect(message.root.children.count == (fields - 1 + perPart - 1) / perPart)
        #expect(message.root.children.allSatisfy { message.string(message.rawBody(of: $0)) == "body" })
    }

    @Test(arguments: [MIMELimits.maximumNestingDepth, MIMELimits.maximumNestingDepth + 1])
    func nestedMessageLimit(levels: Int) {
        var text = "Subject: leaf\r\n\r\nleaf"
        for _ in 0..<levels { text = "Content-Type: message/rfc822\r\n\r\n" + text }
        let message = MIMEMessage.parse(Array(text.utf8))
        var part = message.root
        var depth = 0
        while let embedded = part.embeddedMessage { part = embedded; depth += 1 }
        #expect(depth == min(levels, MIMELimits.maximumNestingDepth))
        #expect(part.wasTruncated == (levels > MIMELimits.maximumNestingDepth))
        #expect(!message.bodyStructure(extensible: true).isEmpty)
    }

    /// Inputs that would take quadratic time in a naive scanner; each must finish at once.
    static let pathological: [String: String] = [
        "unterminated encoded words": String(repeating: "=?a?b?x", count: 40_000),
        "encoded words cut by spaces": String(repeating: "=?a?b?x=?a?b?y ", count: 20_000),
        "route probes": String(repeating: "<@a", count: 40_000),
        "nested comments": String(repeating: "(", count: 100_000),
        "quoted strings": String(repeating: "\"", count: 100_000),
    ]

    @Test(arguments: pathological.keys.sorted())
    func headerValuesParseInLinearTime(name: String) {
        let value = Self.pathological[name]!
        let message = MIMEMessage.parse(Array(("Subject: \(value)\r\nTo: \(value)\r\nDate: \(value)\r\n"
            + "References: \(value)\r\nContent-Type: multipart/mixed; boundary=\(value)\r\n\r\nbody").utf8))
        _ = message.summary()
        _ = message.envelope
        _ = message.bodyStructure(extensible: true)
    }

    @Test func htmlLessThanSignsAreLinear() {
        let html = String(repeating: "< ", count: 100_000) + String(repeating: "<a", count: 50_000)
        #expect(HTMLText.visibleText(html).hasPrefix("< < "))
    }
}
