import IMAPGrammar
import MailCore
import Testing

@testable import IMAPServer

/// LIST and LSUB over folders and subscriptions, from RFC 3501 6.3.9 and RFC 5258's examples.
@Suite struct MailboxListingTests {
    static func folder(_ name: String, _ system: SystemFolder? = nil) -> MailFolder {
        MailFolder(id: name.lowercased(), name: name, parentID: nil, systemFolder: system, uidValidity: 1, uidNext: 1,
                   highestModseq: 1, totalCount: 0, unseenCount: 0, createdAt: 0)
    }

    /// INBOX, Sent, Work, Work/Plans, Work/Plans/2027, Old (subscribed: INBOX, Work/Plans, Gone, Gone/Child, Work/Plans/2027).
    static let listing = MailboxListing(
        folders: [folder("INBOX", .inbox), folder("Sent", .sent), folder("Work"), folder("Work/Plans"), folder("Work/Plans/2027"),
                  folder("Old")],
        subscriptions: ["INBOX", "Work/Plans", "Work/Plans/2027", "Gone", "Gone/Child"])

    static func lines(_ entries: [MailboxListEntry]) -> [String] {
        entries.map { entry in "(" + entry.attributes.map(\.wire).joined(separator: " ") + ") " + entry.name.wire
            + (entry.childInfo.isEmpty ? "" : " CHILDINFO " + entry.childInfo.joined(separator: " ")) }
    }

    static func pattern(_ text: String) -> (String) -> Bool {
        let pattern = MailboxPattern(text)
        return { pattern.matches($0) }
    }

    @Test func lsubListsExactlyTheSubscribedNames() {
        #expect(Self.lines(Self.listing.subscribedEntries(matching: Self.pattern("*"), lsub: true, recursiveMatch: false)) == [
            "(\\HasNoChildren) INBOX", "(\\HasChildren) Work/Plans", "(\\HasNoChildren) Work/Plans/2027",
            "(\\Noselect) Gone", "(\\Noselect) Gone/Child",
        ])
    }

    /// RFC 3501 6.3.9: with `%`, a parent whose child is subscribed is returned `\Noselect` when it is
    /// not subscribed itself.
    @Test func lsubPercentReturnsUnsubscribedParentsAsNoselect() {
        #expect(Self.lines(Self.listing.subscribedEntries(matching: Self.pattern("%"), lsub: true, recursiveMatch: false)) == [
            "(\\HasNoChildren) INBOX", "(\\Noselect) Gone", "(\\Noselect) Work",
        ])
        #expect(Self.lines(Self.listing.subscribedEntries(matching: Self.pattern("Work/%"), lsub: true, recursiveMatch: false)) == [
            "(\\HasChildren) Work/Plans",
        ])
    }

    /// RFC 5258: `\Subscribed` on every answer, `\NonExistent` for a name without a mailbox; with
    /// RECURSIVEMATCH, a parent of a subscribed name comes with `CHILDINFO ("SUBSCRIBED")`.
    @Test func listSubscribedSelection() {
        #expect(Self.lines(Self.listing.subscribedEntries(matching: Self.pattern("%"), lsub: false, recursiveMatch: false)) == [
            "(\\HasNoChildren \\Subscribed) INBOX", "(\\NonExistent \\Subscribed) Gone",
        ])
        #expect(Self.lines(Self.listing.subscribedEntries(matching: Self.pattern("%"), lsub: false, recursiveMatch: true)) == [
            "(\\HasNoChildren \\Subscribed) INBOX", "(\\NonExistent \\Subscribed) Gone CHILDINFO SUBSCRIBED",
            "(\\HasChildren) Work CHILDINFO SUBSCRIBED",
        ])
    }

    @Test func listReturnSubscribedMarksOnlySubscribedFolders() {
        #expect(Self.lines(Self.listing.entries(matching: Self.pattern("*"), markingSubscribed: true)) == [
            "(\\HasNoChildren \\Subscribed) INBOX", "(\\HasNoChildren \\Sent) Sent", "(\\HasChildren) Work",
            "(\\HasChildren \\Subscribed) Work/Plans", "(\\HasNoChildren \\Subscribed) Work/Plans/2027", "(\\HasNoChildren) Old",
        ])
        #expect(Self.lines(Self.listing.entries(matching: Self.pattern("%"), markingSubscribed: false)) == [
            "(\\HasNoChildren) INBOX", "(\\HasNoChildren \\Sent) Sent", "(\\HasChildren) Work", "(\\HasNoChildren) Old",
        ])
    }
}
