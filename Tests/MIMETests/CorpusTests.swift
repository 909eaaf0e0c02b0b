import Testing
@testable import MIME

@Suite struct CorpusTests {
    @Test func corpusIsPresent() {
        #expect(Fixture.corpusNames().count >= 48)
    }

    /// Every message parses, and every accessor answers without trapping.
    @Test(arguments: Fixture.corpusNames())
    func everyMessageParses(name: String) {
        let message = Fixture.corpus(name)
        #expect(message.size > 0)
        _ = message.bodyStructure(extensible: true)
        _ = message.bodyStructure(extensible: false)
        _ = message.envelope
        _ = message.summary()
        for part in [message.root] + message.root.descendants {
            #expect(part.headerRange.upperBound <= part.bodyRange.lowerBound || part.headerRange.isEmpty)
            #expect(part.bodyRange.upperBound <= message.size)
            _ = message.decodedBody(of: part)
            _ = message.text(of: part)
            if !part.sectionPath.isEmpty {
                #expect(message.bytes(for: SectionSpec(path: part.sectionPath)) != nil)
                _ = message.bytes(for: SectionSpec(path: part.sectionPath, text: .mime))
            }
        }
    }
}

/// Structures worked out by reading each message (and checked against what Python's `email`
/// reports for the same files in its test suite, defects included).
@Suite struct CorpusStructureTests {
    static let expectedShapes: [(String, String)] = [
        ("msg_01.txt", "text/plain"),
        ("msg_02.txt", "multipart/mixed(text/plain,text/plain,multipart/digest(message/rfc822[text/plain],message/rfc822[text/plain],message/rfc822[text/plain],message/rfc822[text/plain],message/rfc822[text/plain]),text/plain)"),
        ("msg_04.txt", "multipart/mixed(text/plain,text/plain)"),
        ("msg_05.txt", "multipart/report(text/plain,text/plain,message/rfc822[text/plain])"),
        ("msg_06.txt", "message/rfc822[text/plain]"),
        ("msg_07.txt", "multipart/mixed(text/plain,image/gif)"),
        ("msg_08.txt", "multipart/mixed(text/plain,text/html,text/plain,text/plain)"),
        ("msg_12.txt", "multipart/mixed(text/plain,text/html,multipart/mixed(text/plain,text/plain),text/plain,text/plain)"),
        ("msg_13.txt", "multipart/mixed(text/plain,multipart/mixed(text/plain,image/gif))"),
        // "Content-Type: text" has no subtype: the RFC 2045 default applies.
        ("msg_14.txt", "text/plain"),
        // Inner and outer share one boundary: the inner multipart finds no delimiter of its own.
        ("msg_15.txt", "multipart/mixed(multipart/alternative(text/plain,text/html),image/gif)"),
        // Multiparts that reuse their parent's boundary own its delimiters up to their own close.
        ("msg_39.txt", "multipart/mixed(multipart/mixed(multipart/alternative(application/octet-stream,application/octet-stream),"
            + "multipart/alternative(application/octet-stream,application/octet-stream),"
            + "multipart/alternative(application/octet-stream,application/octet-stream)),text/plain)"),
        ("msg_16.txt", "multipart/report(text/plain,message/delivery-status,message/rfc822[text/plain])"),
        ("msg_23.txt", "multipart/mixed(text/plain)"),
        ("msg_24.txt", "multipart/mixed(text/plain)"),
        ("msg_28.txt", "multipart/digest(message/rfc822[text/plain],message/rfc822[text/plain])"),
        // boundary=BOUNDARY_ never occurs: no parts, the body is text.
        ("msg_31.txt", "multipart/mixed(text/plain)"),
        // Digest default is message/rfc822, an explicit text/plain stays.
        ("msg_34.txt", "multipart/digest(text/plain,message/rfc822[text/plain])"),
        ("msg_35.txt", "text/plain"),
        ("msg_36.txt", "multipart/mixed(text/plain,multipart/alternative(message/external-body,message/external-body))"),
        ("msg_40.txt", "text/html"),
        // multipart/alternative without a boundary parameter.
        ("msg_41.txt", "multipart/alternative(text/plain)"),
        ("msg_42.txt", "multipart/mixed(text/plain,message/rfc822[multipart/mixed(text/plain)])"),
        ("msg_43.txt", "multipart/report(text/plain,message/delivery-status,text/rfc822-headers)"),
        ("msg_45.txt", "multipart/signed(text/plain,application/pgp-signature)"),
        ("msg_46.txt", "message/rfc822[text/plain]"),
    ]

    @Test(arguments: expectedShapes)
    func structureMatches(name: String, shape: String) {
        #expect(Fixture.shape(Fixture.corpus(name).root) == shape)
    }

    /// A header without its blank line runs to the end: the text after it is a line of the header
    /// that makes no field (RFC 5322 2.1; Dovecot reads it so too), and the body is empty.
    @Test func aHeaderWithoutItsBlankLineRunsToTheEnd() {
        let message = Fixture.corpus("msg_35.txt")
        #expect(message.header("Subject") == "here's something interesting")
        #expect(message.string(message.rawBody(of: message.root)) == "")
    }

    @Test func digestChildrenAreMessages() {
        let message = Fixture.corpus("msg_02.txt")
        let digest = message.root.children[2]
        #expect(digest.children.allSatisfy { !$0.hasExplicitContentType && $0.contentType.mimeType == "message/rfc822" })
        #expect(digest.children[0].sectionPath == [3, 1])
        #expect(message.section([3, 1, 1])?.contentType.mimeType == "text/plain")
    }
}
