import MIME
import Testing

/// A boundary written as an RFC 2231 extended value (corpus msg_33) still splits the parts.
@Suite struct RFC2231BoundaryTests {
    static let message = Array((
        "Content-Type: multipart/signed; micalg*=ansi-x3.4-1968''pgp-md5;\r\n" +
        "\tprotocol*=ansi-x3.4-1968''application%2Fpgp-signature;\r\n" +
        "\tboundary*=\"ansi-x3.4-1968''EeQfGwPcQSOJBaQU\"\r\n\r\n" +
        "--EeQfGwPcQSOJBaQU\r\nContent-Type: text/plain\r\n\r\npart 1\r\n" +
        "--EeQfGwPcQSOJBaQU\r\nContent-Type: text/plain\r\n\r\npart 2\r\n--EeQfGwPcQSOJBaQU--\r\n").utf8)

    @Test func extendedBoundarySplitsTheParts() {
        let parsed = MIMEMessage(parsing: Self.message)
        #expect(parsed.root.contentType.boundary == "EeQfGwPcQSOJBaQU")
        #expect(parsed.root.children.count == 2)
        #expect(parsed.root.contentType.parameter("protocol") == "application/pgp-signature")
    }
}
