import Foundation
import MailCore
import Testing

@testable import HTTPAPI

/// The API's pure parts, table-tested: query decoding, native search, webhook signatures and
/// envelopes, outgoing message checks, multipart form data.
@Suite struct APIPartsTests {
    @Test(arguments: [
        ("subject=hello+world", "subject", "hello world"),
        ("q=a%2Bb%20c", "q", "a+b c"),
        ("q=%E2%82%AC", "q", "€"),
        ("q=100%", "q", "100%"),
        ("q=%zz", "q", "%zz"),
        ("a=1&a=2", "a", "1"),
        ("flag", "flag", ""),
        ("x=1&search_query_native=SUBJECT+%22hi+there%22", "search_query_native", "SUBJECT \"hi there\""),
    ])
    func formQueryDecoding(query: String, name: String, expected: String) {
        #expect(FormQuery(query)[name] == expected)
    }

    @Test func formQueryIsBounded() {
        let query = (0..<500).map { "k\($0)=v" }.joined(separator: "&")
        let decoded = FormQuery(query)
        #expect(decoded["k99"] == "v" && decoded["k100"] == nil)
    }

    @Test(arguments: ["ALL", "UNSEEN", "SUBJECT \"hello\"", "SUBJECT hello", "OR FLAGGED SEEN", "FROM alice@example.com BODY needle",
                      "NOT (DELETED OR ANSWERED DRAFT)", "SINCE 1-Feb-2024 LARGER 100", "HEADER X-Custom \"v\""])
    func nativeSearchAcceptsSearchCriteria(expression: String) throws {
        _ = try NativeSearch(expression)
    }

    @Test(arguments: ["", "SUBJECT", "(SUBJECT x", "NOSUCHKEY", "SUBJECT {5}", "RETURN (MIN) ALL", "SUBJECT a\r\nb"])
    func nativeSearchRefusesWhatIsNotACriterion(expression: String) {
        #expect {
            _ = try NativeSearch(expression)
        } throws: { error in
            (error as? APIError).map { $0.kind == .invalidRequest && $0.message.contains("search_query_native") } ?? false
        }
    }

    @Test func nativeSearchNeedsTheBytesOnlyForTextKeys() throws {
        #expect(try NativeSearch("BODY needle").needsRaw)
        #expect(try !NativeSearch("SUBJECT x UNSEEN").needsRaw)
    }

    /// RFC 4231 test case 2.
    @Test func signatureIsHexHMACSHA256() {
        let body = Array("what do ya want for nothing?".utf8)
        #expect(WebhookNotification.signature(of: body, secret: "Jefe") == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    static func event(type: String = "message.created", payload: String) -> OutboxEvent {
        OutboxEvent(id: 42, grantID: GrantID(rawValue: "00000000-0000-4000-8000-000000000001")!, objectType: "message",
                    objectID: "m1", type: type, payloadJSON: payload, createdAt: 1_800_000_000, attempts: 0)
    }

    @Test func notificationEnvelope() throws {
        let notification = try WebhookNotification(event: Self.event(payload: #"{"id":"m1","object":"message","body":"hi"}"#),
                                                   object: #"{"id":"m1","object":"message","body":"hi"}"#, attempt: 3,
                                                   region: "eu", applicationID: "app-1")
        let json = try JSONSerialization.jsonObject(with: Data(notification.body)) as! [String: Any]
        #expect(json["specversion"] as? String == "1.0" && json["type"] as? String == "message.created")
        #expect(json["source"] as? String == "/mailnode/eu" && json["id"] as? String == "eu-42")
        #expect(json["time"] as? Int == 1_800_000_000 && json["webhook_delivery_attempt"] as? Int == 3)
        let data = json["data"] as! [String: Any]
        #expect(data["application_id"] as? String == "app-1" && data["grant_id"] as? String == "00000000-0000-4000-8000-000000000001")
        #expect((data["object"] as? [String: Any])?["body"] as? String == "hi")
    }

    @Test func objectsOverAMegabyteGoOutTruncatedWithoutTheirBody() throws {
        let big = String(repeating: "x", count: WebhookNotification.maximumObjectBytes)
        let object = #"{"id":"m1","object":"message","body":"\#(big)"}"#
        let notification = try WebhookNotification(event: Self.event(payload: object), object: object, attempt: 1, region: "us",
                                                   applicationID: "a")
        #expect(notification.type == "message.created.truncated" && notification.body.count < 4096)
        let exact = #"{"id":"m1","body":"\#(String(repeating: "y", count: WebhookNotification.maximumObjectBytes - 21))"}"#
        #expect(exact.utf8.count == WebhookNotification.maximumObjectBytes)
        #expect(try WebhookNotification(event: Self.event(payload: exact), object: exact, attempt: 1, region: "us",
                                        applicationID: "a").type == "message.created")
    }

    @Test(arguments: [
        ("https://hooks.example.com/x?a=1", true), ("http://127.0.0.1:8080/hook", true), ("ftp://example.com/", false),
        ("mailto:a@example.com", false), ("https://user:pw@example.com/", false), ("/relative", false), ("", false),
    ])
    func webhookURLs(url: String, valid: Bool) {
        #expect(((try? WebhookChallenge.validate(url)) != nil) == valid)
    }

    @Test func triggerTypesAreCheckedAndDeduplicated() throws {
        #expect(try WebhooksController.validTriggers(["message.created", "message.created", "grant.deleted"])
            == ["message.created", "grant.deleted"])
        #expect(throws: APIError.self) { try WebhooksController.validTriggers([]) }
        #expect { try WebhooksController.validTriggers(["message.exploded"]) } throws: { error in
            (error as? APIError)?.message.contains("message.exploded") ?? false
        }
        #expect(WebhooksController.newSecret().count == 64)
    }

    static let sender = EmailAddress("agent@example.com")!

    static func outgoing(_ json: String, requireRecipients: Bool = true) throws -> OutgoingMessage {
        try OutgoingMessage(try JSONDecoder().decode(OutgoingMessageRequest.self, from: Data(json.utf8)), from: sender,
                            requireRecipients: requireRecipients)
    }

    @Test(arguments: [
        (#"{"subject":"x"}"#, "to, cc or bcc"),
        (#"{"to":[{"email":"not an address"}]}"#, "to[0].email"),
        (#"{"to":[{"email":"a@example.org"}],"cc":[{"name":"x"}]}"#, "cc[0].email"),
        (#"{"to":[{"email":"a@example.org"}],"subject":"a\nb"}"#, "subject"),
        (#"{"to":[{"email":"a@example.org"}],"attachments":[{"filename":"f","content":"!!!"}]}"#, "attachments[0].content"),
        (#"{"to":[{"email":"a@example.org"}],"attachments":[{"content":"aGk=","content_type":"nonsense"}]}"#, "attachments[0].content_type"),
        (#"{"to":[{"email":"a@example.org"}],"custom_headers":[{"name":"Bcc","value":"x@example.org"}]}"#, "custom_headers[0].name"),
        (#"{"to":[{"email":"a@example.org"}],"custom_headers":[{"name":"X-A","value":"1\r\nBcc: y@example.org"}]}"#, "custom_headers[0].value"),
    ])
    func outgoingMessagesAreCheckedFieldByField(json: String, field: String) {
        #expect {
            _ = try Self.outgoing(json)
        } throws: { error in
            (error as? APIError).map { $0.kind == .invalidRequest && $0.message.contains(field) } ?? false
        }
    }

    @Test func outgoingMessageBuildsWithBccOnlyInTheSentCopy() throws {
        var message = try Self.outgoing(#"""
            {"to":[{"name":"Bob","email":"bob@example.org"}],"bcc":[{"email":"hidden@example.net"}],"subject":"Hi",
             "body":"<p>Hello</p>","attachments":[{"filename":"a.txt","content_type":"text/plain","content":"aGVsbG8"}],
             "custom_headers":[{"name":"X-Campaign","value":"7"}]}
            """#)
        #expect(message.recipients.map(\.address) == ["bob@example.org", "hidden@example.net"])
        message.builder.prepareForSending()
        let sent = String(decoding: message.builder.build(includeBcc: true), as: UTF8.self)
        let transmitted = String(decoding: message.builder.build(), as: UTF8.self)
        #expect(sent.contains("Bcc: hidden@example.net") && !transmitted.contains("hidden@example.net"))
        #expect(transmitted.contains("X-Campaign: 7") && transmitted.contains("multipart/alternative") && transmitted.contains("aGVsbG8="))
        #expect(transmitted.contains("From: agent@example.com"))
    }

    @Test func multipartFormData() async throws {
        #expect(MultipartFormData.boundary(contentType: "multipart/form-data; boundary=XyZ") == "XyZ")
        #expect(MultipartFormData.boundary(contentType: "application/json") == nil)
        #expect(MultipartFormData.boundary(contentType: "multipart/form-data") == nil)
        let body = Array("""
            --XyZ\r
            Content-Disposition: form-data; name="message"\r
            \r
            {"subject":"s"}\r
            --XyZ\r
            Content-Disposition: form-data; name="file"; filename="r\u{E9}sum\u{E9}.bin"\r
            Content-Type: application/octet-stream\r
            \r
            \u{01}\u{02}\r
            --XyZ--\r

            """.utf8)
        let form = try await MultipartFormData.parse(body: body, boundary: "XyZ")
        #expect(form.fields.map(\.name) == ["message", "file"])
        #expect(String(decoding: form.fields[0].data, as: UTF8.self) == #"{"subject":"s"}"#)
        #expect(form.fields[1].filename == "résumé.bin" && form.fields[1].data == [1, 2])
        await #expect(throws: APIError.self) { try await MultipartFormData.parse(body: Array("no parts".utf8), boundary: "XyZ") }
    }
}
