import NIOCore
import Testing
@testable import IMAPGrammar

@Test("sequence sets resolve * and either range order")
func sequenceSets() {
    let set = SequenceSet.ranges([SequenceRange(.number(4), .number(2)), SequenceRange(.number(9), .last)])
    #expect(set.contains(3, largest: 20))
    #expect(!set.contains(5, largest: 20))
    #expect(set.contains(20, largest: 20))
    #expect(SequenceRange(.last, .number(5)).resolved(largest: 3) == 3...5)
    #expect(set.wire == "4:2,9:*")
    #expect(SequenceSet.compact([5, 1, 2, 3, 9, 10]).wire == "1:3,5,9:10")
    #expect(SequenceSet.compact([]).wire == "")
    #expect(!SequenceSet.lastCommand.contains(1, largest: 1))
}

@Test("partials clamp to the part size")
func partials() {
    #expect(Partial(offset: 0, length: 10).clamped(toSize: 4) == 0..<4)
    #expect(Partial(offset: 8, length: 10).clamped(toSize: 4) == 4..<4)
    #expect(Partial(offset: 2, length: 1).clamped(toSize: 4) == 2..<3)
}

@Test("date-times convert to Unix time")
func dateTimes() {
    let t = IMAPDateTime(date: IMAPDate(year: 1996, month: 7, day: 17), hour: 2, minute: 44, second: 25, zoneMinutes: -420)
    #expect(t.secondsSince1970 == 837_596_665)
    #expect(t.wire == "17-Jul-1996 02:44:25 -0700")
    #expect(IMAPDateTime(date: IMAPDate(year: 1970, month: 1, day: 1), hour: 0, minute: 0, second: 0, zoneMinutes: 0).secondsSince1970 == 0)
    #expect(IMAPDate(year: 1994, month: 2, day: 1).wire == "1-Feb-1994")
}

@Test("flags keep their canonical spelling")
func flags() {
    #expect(Flag(wire: "\\SEEN") == .seen)
    #expect(Flag(wire: "\\Foo") == .extension("Foo"))
    #expect(Flag(wire: "$Junk").wire == "$Junk")
    #expect(PermanentFlag.wildcard.wire == "\\*")
    #expect(MailboxAttribute(wire: "\\hasnochildren") == .hasNoChildren)
    #expect(MailboxAttribute.sent.isSpecialUse)
}

@Test("FETCH items that set \\Seen")
func fetchSetsSeen() {
    #expect(FetchAttribute.rfc822.setsSeen)
    #expect(FetchAttribute.body(section: .complete, partial: nil, peek: false).setsSeen)
    #expect(!FetchAttribute.body(section: .complete, partial: nil, peek: true).setsSeen)
    #expect(!FetchAttribute.rfc822Header.setsSeen)
}

/// Round trip: what the encoder writes as an astring, the parser reads back unchanged.
@Test("astrings round-trip through encoder and parser", arguments: [
    "simple", "", "two words", "quote\"back\\slash", "line\r\nbreak", "caf\u{00E9}", "x]y", "NIL", "{5}", "~peter/mail/&U,BTFw-",
])
func astringRoundTrip(_ value: String) {
    var writer = ResponseWriter()
    writer.writeString("t LOGIN ")
    writer.writeAString(value)
    writer.writeString(" ")
    writer.writeIMAPString(value)
    writer.writeString("\r\n")
    var parser = CommandParser()
    let results = drain(&parser, Array(writer.buffer.readableBytesView))
    #expect(results.last == .command(.init("t", .login(username: value, password: value))))
}
