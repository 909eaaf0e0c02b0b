/// The basic rules of RFC 9051 section 9: atoms, numbers, strings, mailboxes, flags.
extension GrammarCursor {
    // tag = 1*<any ASTRING-CHAR except "+">
    mutating func tag() throws(GrammarError) -> String {
        let start = index
        while let b = peek(), Self.isTagChar(b) { index += 1 }
        guard index > start else { throw .syntax("expected a tag") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // atom = 1*ATOM-CHAR
    mutating func atom() throws(GrammarError) -> String {
        let start = index
        while let b = peek(), Self.isAtomChar(b) { index += 1 }
        guard index > start else { throw .syntax("expected an atom") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // number = 1*DIGIT  ; unsigned 32-bit integer (0 <= n < 4,294,967,296)
    mutating func number() throws(GrammarError) -> UInt32 {
        let value = try number64()
        guard value <= UInt64(UInt32.max) else { throw .syntax("number out of range") }
        return UInt32(value)
    }

    // number64 = 1*DIGIT  ; unsigned 63-bit integer (0 <= n <= 9,223,372,036,854,775,807)
    mutating func number64() throws(GrammarError) -> UInt64 {
        let start = index
        var value: UInt64 = 0
        while let b = peek(), Self.isDigit(b) {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b - 0x30))
            guard !o1, !o2, a <= UInt64(Int64.max) else { throw .syntax("number out of range") }
            value = a
            index += 1
        }
        guard index > start else { throw .syntax("expected a number") }
        return value
    }

    // nz-number = digit-nz *DIGIT  ; non-zero unsigned 32-bit integer
    mutating func nzNumber() throws(GrammarError) -> UInt32 {
        let n = try number()
        guard n != 0 else { throw .syntax("zero is not allowed here") }
        return n
    }

    // mod-sequence-value = 1*DIGIT  ; positive unsigned 63-bit (RFC 7162)
    mutating func modSequenceValue() throws(GrammarError) -> UInt64 {
        let n = try number64()
        guard n != 0 else { throw .syntax("mod-sequence must be positive") }
        return n
    }

    // quoted = DQUOTE *QUOTED-CHAR DQUOTE
    // QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
    mutating func quoted() throws(GrammarError) -> [UInt8] {
        try expect(0x22, "'\"'")
        var out: [UInt8] = []
        while true {
            guard let b = peek() else { throw .syntax("unterminated quoted string") }
            index += 1
            switch b {
            case 0x22: return out
            case 0x5C:
                guard let next = peek(), next == 0x22 || next == 0x5C else {
                    throw .syntax("invalid escape in quoted string")
                }
                out.append(next)
                index += 1
            case 0x00, 0x0D, 0x0A: throw .syntax("invalid character in quoted string")
            default: out.append(b)
            }
        }
    }

    // literal = "{" number64 ["+"] "}" CRLF *CHAR8   ; RFC 7888 adds "+"
    // The framer has already checked the size and collected the bytes.
    mutating func literal(allowingNUL: Bool = false) throws(GrammarError) -> [UInt8] {
        try expect(0x7B, "'{'")
        let size = try number64()
        _ = take(0x2B)
        try expect(0x7D, "'}'")
        _ = take(0x0D)
        try expect(0x0A, "CRLF after literal size")
        guard size <= UInt64(bytes.count - index) else { throw .syntax("truncated literal") }
        let data = Array(bytes[index..<index + Int(size)])
        index += Int(size)
        guard allowingNUL || !data.contains(0) else { throw .syntax("NUL in literal") }
        return data
    }

    // string = quoted / literal
    mutating func string() throws(GrammarError) -> [UInt8] {
        switch peek() {
        case 0x22: return try quoted()
        case 0x7B: return try literal()
        default: throw .syntax("expected a string")
        }
    }

    // astring = 1*ASTRING-CHAR / string
    mutating func astring() throws(GrammarError) -> [UInt8] {
        if peek() == 0x22 || peek() == 0x7B { return try string() }
        let start = index
        while let b = peek(), Self.isAStringChar(b) { index += 1 }
        guard index > start else { throw .syntax("expected an astring") }
        return Array(bytes[start..<index])
    }

    mutating func astringText() throws(GrammarError) -> String {
        String(decoding: try astring(), as: UTF8.self)
    }

    // nstring = string / nil
    mutating func nstring() throws(GrammarError) -> [UInt8]? {
        if take("NIL") { return nil }
        return try string()
    }

    // mailbox = "INBOX" / astring
    mutating func mailbox() throws(GrammarError) -> MailboxName {
        MailboxName(wire: try astringText())
    }

    // list-mailbox = 1*list-char / string
    mutating func listMailbox() throws(GrammarError) -> String {
        if peek() == 0x22 || peek() == 0x7B { return String(decoding: try string(), as: UTF8.self) }
        let start = index
        while let b = peek(), Self.isListChar(b) { index += 1 }
        guard index > start else { throw .syntax("expected a mailbox pattern") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // A parenthesised, space-separated list: "(" [element *(SP element)] ")"
    mutating func parenthesizedList<T>(allowEmpty: Bool = true, limit: Int? = nil,
                                       _ element: (inout GrammarCursor) throws(GrammarError) -> T) throws(GrammarError) -> [T] {
        try expect(0x28, "'('")
        var items: [T] = []
        if take(0x29) {
            guard allowEmpty else { throw .syntax("empty list") }
            return items
        }
        let max = limit ?? limits.maxListItems
        repeat {
            items.append(try element(&self))
            guard items.count <= max else { throw GrammarError(kind: .tooManyItems, message: "too many list items") }
        } while take(0x20)
        try expect(0x29, "')'")
        return items
    }

    // flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension
    // flag-keyword = "$MDNSent" / "$Forwarded" / "$Junk" / "$NotJunk" / "$Phishing" / atom
    // flag-extension = "\" atom
    mutating func flag() throws(GrammarError) -> Flag {
        if take(0x5C) {
            let name = try atom()
            let flag = Flag(wire: "\\" + name)
            if flag == .recent { throw .syntax("\\Recent cannot be stored") }
            return flag
        }
        return .keyword(try atom())
    }

    // flag-list = "(" [flag *(SP flag)] ")"
    mutating func flagList() throws(GrammarError) -> [Flag] {
        try parenthesizedList { (c: inout GrammarCursor) throws(GrammarError) in try c.flag() }
    }

    // seq-number = nz-number / "*"
    mutating func sequenceNumber() throws(GrammarError) -> SequenceNumber {
        if take(0x2A) { return .last }
        return .number(try nzNumber())
    }

    // sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"
    // seq-range    = seq-number ":" seq-number
    mutating func sequenceSet() throws(GrammarError) -> SequenceSet {
        if take(0x24) { return .lastCommand }
        var ranges: [SequenceRange] = []
        repeat {
            let first = try sequenceNumber()
            if take(0x3A) {
                ranges.append(SequenceRange(first, try sequenceNumber()))
            } else {
                ranges.append(SequenceRange(first))
            }
            guard ranges.count <= limits.maxSequenceSetRanges else {
                throw GrammarError(kind: .tooManyItems, message: "too many sequence-set ranges")
            }
        } while take(0x2C)
        return .ranges(ranges)
    }

    // date-month = "Jan" / "Feb" / ... / "Dec"
    mutating func dateMonth() throws(GrammarError) -> Int {
        for (offset, name) in IMAPDate.monthNames.enumerated() where take(name) {
            return offset + 1
        }
        throw .syntax("expected a month name")
    }

    mutating func digits(_ count: Int) throws(GrammarError) -> Int {
        var value = 0
        for _ in 0..<count {
            guard let b = peek(), Self.isDigit(b) else { throw .syntax("expected \(count) digits") }
            value = value * 10 + Int(b - 0x30)
            index += 1
        }
        return value
    }

    // date-text = date-day "-" date-month "-" date-year
    // date-day  = 1*2DIGIT
    mutating func dateText() throws(GrammarError) -> IMAPDate {
        var day = try digits(1)
        if let b = peek(), Self.isDigit(b) { day = day * 10 + (try digits(1)) }
        try expect(0x2D, "'-'")
        let month = try dateMonth()
        try expect(0x2D, "'-'")
        let year = try digits(4)
        guard day >= 1, day <= 31 else { throw .syntax("invalid day") }
        return IMAPDate(year: year, month: month, day: day)
    }

    // date = date-text / DQUOTE date-text DQUOTE
    mutating func date() throws(GrammarError) -> IMAPDate {
        if take(0x22) {
            let d = try dateText()
            try expect(0x22, "'\"'")
            return d
        }
        return try dateText()
    }

    // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
    // date-day-fixed = (SP DIGIT) / 2DIGIT
    // (A single digit without the space is accepted too: some clients send "7-Feb-1994 ...".)
    // time = 2DIGIT ":" 2DIGIT ":" 2DIGIT
    // zone = ("+" / "-") 4DIGIT
    mutating func dateTime() throws(GrammarError) -> IMAPDateTime {
        try expect(0x22, "'\"'")
        var day: Int
        if take(0x20) {
            day = try digits(1)
        } else {
            day = try digits(1)
            if let b = peek(), Self.isDigit(b) { day = day * 10 + (try digits(1)) }
        }
        try expect(0x2D, "'-'")
        let month = try dateMonth()
        try expect(0x2D, "'-'")
        let year = try digits(4)
        try space()
        let hour = try digits(2)
        try expect(0x3A, "':'")
        let minute = try digits(2)
        try expect(0x3A, "':'")
        let second = try digits(2)
        try space()
        let negative: Bool
        if take(0x2B) { negative = false } else if take(0x2D) { negative = true } else { throw .syntax("expected zone") }
        let zh = try digits(2)
        let zm = try digits(2)
        try expect(0x22, "'\"'")
        guard day >= 1, day <= 31, hour < 24, minute < 60, second < 61, zm < 60 else {
            throw .syntax("invalid date-time")
        }
        let zone = zh * 60 + zm
        return IMAPDateTime(date: IMAPDate(year: year, month: month, day: day), hour: hour, minute: minute,
                            second: second, zoneMinutes: negative ? -zone : zone)
    }
}
