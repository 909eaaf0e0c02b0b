import MailCore
import Testing

@Suite struct MailboxValuesTests {
    @Test(arguments: [
        (["\\seen", "\\SEEN", "Work", "$Junk"], ["$Junk", "Work", "\\Seen"]),
        (["\\Recent", "\\Unknown", ""], []),
        (["\\flagged", "\\answered", "\\draft", "\\deleted"], ["\\Answered", "\\Deleted", "\\Draft", "\\Flagged"]),
        // A keyword is one flag in any letter case: the first spelling given stays.
        (["b", "a", "B"], ["a", "b"]),
        (["$Label1", "$label1", "Work"], ["$Label1", "Work"]),
        // Keywords are told apart by their bytes, as Postgres compares them, even when Unicode calls them equal.
        (["\u{E9}", "e\u{301}", "\u{E9}"], ["e\u{301}", "\u{E9}"]),
    ])
    func flagsAreCanonicalUniqueAndSortedByBytes(input: [String], expected: [String]) {
        #expect(MessageFlags(input).names == expected)
    }

    @Test func flagSetOperations() {
        let flags: MessageFlags = ["\\Seen", "Work"]
        #expect(flags.isSeen && !flags.isFlagged && !flags.isDeleted)
        #expect(flags.union(["\\flagged"]).names == ["Work", "\\Flagged", "\\Seen"])
        #expect(flags.subtracting(["Work"]) == [MessageFlags.seen])
        #expect(flags.contains("\\SEEN"))
    }

    @Test(arguments: [
        ([1...3, 5...5, 4...4, 10...12], [1...5, 10...12]),
        ([7...9, 1...2, 2...8], [1...9]),
        ([], []),
    ] as [([ClosedRange<Int64>], [ClosedRange<Int64>])])
    func uidSetsMergeAndSort(input: [ClosedRange<Int64>], expected: [ClosedRange<Int64>]) {
        #expect(UIDSet(input).ranges == expected)
    }

    @Test func uidSetBasics() {
        let set = UIDSet(uids: [5, 1, 2, 3, 9])
        #expect(set.description == "1:3,5,9")
        #expect(set.contains(2) && !set.contains(4))
        #expect(set.lowerBounds == [1, 5, 9] && set.upperBounds == [3, 5, 9])
        #expect(UIDSet.all.ranges == [1...UIDSet.maximumUID])
    }

    @Test(arguments: [
        ("Hello", "hello", false),
        ("Re: Hello", "hello", true),
        ("RE: Fwd: re[2]:  Hello   world", "hello world", true),
        ("AW: Sv: FW: Tr: WG: x", "x", true),
        ("Re:", "", true),
        ("Report: numbers", "report: numbers", false),
        ("  ", "", false),
    ])
    func threadSubjects(subject: String, normalized: String, hadPrefix: Bool) {
        let result = MessageFacts.threadSubject(subject)
        #expect(result.normalized == normalized && result.hadPrefix == hadPrefix)
    }

    @Test func subjectPrefixStrippingStopsAtTheLimit() {
        let atLimit = String(repeating: "Re: ", count: MessageFacts.maximumSubjectPrefixes) + "x"
        #expect(MessageFacts.threadSubject(atLimit).normalized == "x")
        let pastLimit = String(repeating: "Re: ", count: MessageFacts.maximumSubjectPrefixes + 1) + "x"
        #expect(MessageFacts.threadSubject(pastLimit).normalized == "re: x")
    }

    @Test(arguments: [("<a@b>", "a@b"), (" <a@b> ", "a@b"), ("a@b", "a@b"), ("<>", nil), ("", nil)] as [(String, String?)])
    func messageIDsLoseTheirBrackets(input: String, expected: String?) {
        #expect(MessageFacts.normalizeMessageID(input) == expected)
    }

    @Test func overlongMessageIDsAndReferenceListsAreBounded() {
        let atLimit = String(repeating: "a", count: MessageFacts.maximumMessageIDLength - 2) + "@b"
        #expect(MessageFacts.normalizeMessageID("<\(atLimit)>") == atLimit)
        #expect(MessageFacts.normalizeMessageID("<x\(atLimit)>") == nil)
        let ids = (0...MessageFacts.maximumReferences).map { "id\($0)@x" }
        let facts = MessageFacts(references: ids)
        #expect(facts.references.count == MessageFacts.maximumReferences)
        #expect(facts.references.first == "id0@x" && facts.references.last == ids.last && !facts.references.contains("id1@x"))
        #expect(MessageFacts(references: Array(ids.prefix(MessageFacts.maximumReferences))).references.count == MessageFacts.maximumReferences)
        let subject = String(repeating: "s", count: MessageFacts.maximumThreadSubjectLength + 1)
        #expect(MessageFacts(subject: subject).normalizedSubject.count == MessageFacts.maximumThreadSubjectLength)
        #expect(MessageFacts(subject: String(subject.dropLast())).normalizedSubject.count == MessageFacts.maximumThreadSubjectLength)
    }

    @Test(arguments: [
        ("inbox", "INBOX"), ("Inbox/Sub", "INBOX/Sub"), ("Projects/2026", "Projects/2026"), ("INBOXES", "INBOXES"),
    ])
    func folderNamesAreCanonical(input: String, expected: String) throws {
        #expect(try FolderName.validate(input) == expected)
    }

    @Test(arguments: ["", "/a", "a/", "a//b", "a\u{1}b", "a*", "a/%", String(repeating: "x", count: FolderName.maximumLength + 1)])
    func badFolderNamesAreRefused(name: String) {
        #expect(throws: MailStoreError.self) { try FolderName.validate(name) }
    }

    @Test func folderNameLengthLimit() throws {
        let atLimit = String(repeating: "x", count: FolderName.maximumLength)
        #expect(try FolderName.validate(atLimit) == atLimit)
        #expect(FolderName.ancestors(of: "a/b/c") == ["a", "a/b"])
        #expect(FolderName.ancestors(of: "a").isEmpty)
    }

    @Test func objectIDsAreValidOBJECTIDs() {
        let ids = (0..<100).map { _ in ObjectIDGenerator.random() }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { $0.utf8.count == 32 && $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } })
    }
}
