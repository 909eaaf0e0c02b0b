import Foundation
import MailCore
import Testing
@testable import Storage

/// The JSON the write functions read, and the participant lists read back from jsonb.
@Suite struct WritePathPartsTests {
    @Test(arguments: [
        ("plain", #""plain""#),
        ("quote \" and \\ backslash", #""quote \" and \\ backslash""#),
        ("line\r\nbreak\ttab", #""line\r\nbreak\ttab""#),
        ("bell\u{07}", #""bell\u0007""#),
        ("nul\u{0}dropped", #""nuldropped""#),
        ("ünïcødé 📬", "\"ünïcødé 📬\""),
        ("", #""""#),
        ("\u{1F}unit\u{7F}", #""\u001funit"# + "\u{7F}\""),
        ("\"\"\\", #""\"\"\\""#),
    ])
    func quotesStrings(_ input: String, _ expected: String) {
        #expect(FactsJSON.quoted(input) == expected)
    }

    @Test func factsAreOneValidJSONObject() throws {
        var facts = MessageFacts(messageIDHeader: "<a\"b@x>", inReplyTo: ["p@x"], references: ["r1@x", "r2@x"], subject: "Re: \"hi\"\n",
                                 from: [Participant(name: "Ann \"A\"", email: "ann@x")], sentDate: 42, snippet: "s\\n",
                                 hasAttachments: true, envelope: "(NIL)", bodyStructure: "(\"TEXT\")", body: "(B)",
                                 extraJSON: #"{"attachments": [{"id": "1"}]}"#)
        facts.normalizedSubject = "hi"
        let text = FactsJSON(facts, participants: try ParticipantJSON(facts), flags: [MessageFlags.seen, "$Label"],
                             internalDate: 7, exemptFromQuota: true).text
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["message_id_header"] as? String == "a\"b@x")
        #expect(object["refs"] as? [String] == ["r1@x", "r2@x"])
        #expect(object["subject"] as? String == "Re: \"hi\"\n")
        #expect(object["flags"] as? [String] == ["$Label", "\\Seen"] || object["flags"] as? [String] == ["\\Seen", "$Label"])
        #expect(object["internal_date"] as? Int == 7 && object["sent_date"] as? Int == 42)
        #expect(object["exempt_from_quota"] as? Bool == true && object["has_attachments"] as? Bool == true)
        #expect((object["from"] as? [[String: String]])?.first?["name"] == "Ann \"A\"")
        #expect(((object["extra"] as? [String: Any])?["attachments"] as? [Any])?.count == 1)
    }

    /// Postgres prints jsonb with spaces and its own key order; escapes and nulls as JSON allows.
    @Test(arguments: [
        ("[]", [Participant]()),
        (#"[{"name": "Ann", "email": "ann@example.test"}]"#, [Participant(name: "Ann", email: "ann@example.test")]),
        (#"[{"email":"b@x"},{"email":"c@x","name":"C \"Q\" \\ /"}]"#,
         [Participant(email: "b@x"), Participant(name: "C \"Q\" \\ /", email: "c@x")]),
        (#"[{"name": null, "email": "d@x"}]"#, [Participant(email: "d@x")]),
        (#"[{"name": "\u00c9mile", "email": "e@x"}]"#, [Participant(name: "Émile", email: "e@x")]),
        (#" [ { "email" : "f@x" , "name" : "Tab\there" } ] "#, [Participant(name: "Tab\there", email: "f@x")]),
    ])
    func readsParticipantLists(_ text: String, _ expected: [Participant]) throws {
        #expect(try ParticipantJSON.decode(text) == expected)
    }

    @Test func participantListsRoundTrip() throws {
        let list = [Participant(name: "Zoë \"Z\"", email: "z@x"), Participant(email: "y@x")]
        #expect(try ParticipantJSON.decode(ParticipantJSON.encode(list)) == list)
    }

    @Test(arguments: ["", "{}", "[{]", #"[{"email": 1}]"#, #"[{"name": "n"}]"#])
    func refusesWhatIsNotAParticipantList(_ text: String) {
        #expect(throws: (any Error).self) { try ParticipantJSON.decode(text) }
    }
}
