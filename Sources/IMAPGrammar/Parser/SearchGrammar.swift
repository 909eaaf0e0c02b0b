/// SEARCH (RFC 9051 section 6.4.4, RFC 3501 section 6.4.4, RFC 4731 ESEARCH, RFC 5182 SAVE,
/// RFC 7162 MODSEQ).
extension GrammarCursor {
    // search = "SEARCH" [search-return-opts] SP search-program
    // search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
    // charset = atom / quoted
    mutating func search() throws(GrammarError) -> SearchCommand {
        try space()
        let returnOptions = try optionalReturnOptions()
        var charset: String? = nil
        let save = index
        if keyword() == "CHARSET", peek() == 0x20 {
            try space()
            charset = try searchCharset()
            try space()
        } else {
            index = save
        }
        return SearchCommand(returnOptions: returnOptions, charset: charset, key: try searchKeys())
    }

    // charset = atom / quoted   (upper-cased)
    mutating func searchCharset() throws(GrammarError) -> String {
        if peek() == 0x22 { return String(decoding: try quoted(), as: UTF8.self).uppercased() }
        return try atom().uppercased()
    }

    // search-key *(SP search-key), several keys folded into `.and`
    mutating func searchKeys() throws(GrammarError) -> SearchKey {
        var keys = [try searchKey()]
        while take(0x20) {
            keys.append(try searchKey())
            guard keys.count <= limits.maxListItems else { throw GrammarError(kind: .tooManyItems, message: "too many search keys") }
        }
        return keys.count == 1 ? keys[0] : .and(keys)
    }

    /// `RETURN (...) SP` when it comes next (SEARCH, and SORT per RFC 5267), else nil.
    mutating func optionalReturnOptions() throws(GrammarError) -> [SearchReturnOption]? {
        let save = index
        guard keyword() == "RETURN" else {
            index = save
            return nil
        }
        try space()
        let options = try searchReturnOptions()
        try space()
        return options
    }

    // search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
    // search-return-opt  = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"
    mutating func searchReturnOptions() throws(GrammarError) -> [SearchReturnOption] {
        try parenthesizedList { (c: inout GrammarCursor) throws(GrammarError) -> SearchReturnOption in
            let name = c.keyword()
            guard let option = SearchReturnOption(rawValue: name) else { throw .syntax("unknown RETURN option \(name)") }
            return option
        }
    }

    mutating func nested<T>(_ body: (inout GrammarCursor) throws(GrammarError) -> T) throws(GrammarError) -> T {
        depth += 1
        guard depth <= limits.maxSearchNestingDepth else {
            throw GrammarError(kind: .nestingTooDeep, message: "search nesting too deep")
        }
        let result = try body(&self)
        depth -= 1
        return result
    }

    mutating func searchString() throws(GrammarError) -> String {
        try space()
        return try astringText()
    }

    mutating func searchDate() throws(GrammarError) -> IMAPDate {
        try space()
        return try date()
    }

    // search-key = "ALL" / "ANSWERED" / "BCC" SP astring / ... / sequence-set /
    //              "(" search-key *(SP search-key) ")" / search-modsequence
    mutating func searchKey() throws(GrammarError) -> SearchKey {
        if peek() == 0x28 {
            return try nested { (c: inout GrammarCursor) throws(GrammarError) -> SearchKey in
                let keys = try c.parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) in try c.searchKey() }
                return keys.count == 1 ? keys[0] : .and(keys)
            }
        }
        if let b = peek(), Self.isDigit(b) || b == 0x2A || b == 0x24 {
            return .sequenceSet(try sequenceSet())
        }
        let name = keyword()
        switch name {
        case "ALL": return .all
        case "ANSWERED": return .answered
        case "DELETED": return .deleted
        case "DRAFT": return .draft
        case "FLAGGED": return .flagged
        case "NEW": return .new
        case "OLD": return .old
        case "RECENT": return .recent
        case "SEEN": return .seen
        case "UNANSWERED": return .unanswered
        case "UNDELETED": return .undeleted
        case "UNDRAFT": return .undraft
        case "UNFLAGGED": return .unflagged
        case "UNSEEN": return .unseen
        case "BCC": return .bcc(try searchString())
        case "BODY": return .body(try searchString())
        case "CC": return .cc(try searchString())
        case "FROM": return .from(try searchString())
        case "SUBJECT": return .subject(try searchString())
        case "TEXT": return .text(try searchString())
        case "TO": return .to(try searchString())
        case "KEYWORD": try space(); return .keyword(try atom())
        case "UNKEYWORD": try space(); return .unkeyword(try atom())
        // "HEADER" SP header-fld-name SP astring
        case "HEADER":
            let field = try searchString()
            return .header(field, try searchString())
        case "BEFORE": return .before(try searchDate())
        case "ON": return .on(try searchDate())
        case "SINCE": return .since(try searchDate())
        case "SENTBEFORE": return .sentBefore(try searchDate())
        case "SENTON": return .sentOn(try searchDate())
        case "SENTSINCE": return .sentSince(try searchDate())
        case "LARGER": try space(); return .larger(try number64())
        // RFC 5032: "OLDER" SP nz-number / "YOUNGER" SP nz-number
        case "OLDER": try space(); return .older(try nzNumber())
        case "YOUNGER": try space(); return .younger(try nzNumber())
        case "SMALLER": try space(); return .smaller(try number64())
        case "UID": try space(); return .uid(try sequenceSet())
        case "NOT":
            try space()
            return try nested { (c: inout GrammarCursor) throws(GrammarError) in .not(try c.searchKey()) }
        case "OR":
            try space()
            return try nested { (c: inout GrammarCursor) throws(GrammarError) -> SearchKey in
                let a = try c.searchKey()
                try c.space()
                return .or(a, try c.searchKey())
            }
        case "MODSEQ": return .modSeq(try searchModSequence())
        // RFC 8514 4.2
        case "SAVEDBEFORE": return .savedBefore(try searchDate())
        case "SAVEDON": return .savedOn(try searchDate())
        case "SAVEDSINCE": return .savedSince(try searchDate())
        case "SAVEDATESUPPORTED": return .saveDateSupported
        case "EMAILID": try space(); return .emailID(try objectID())
        case "THREADID": try space(); return .threadID(try objectID())
        case "": throw .syntax("expected a search key")
        default: throw .syntax("unknown search key \(name)")
        }
    }

    // objectid = 1*255(ALPHA / DIGIT / "_" / "-")   (RFC 8474 7)
    mutating func objectID() throws(GrammarError) -> String {
        var bytes: [UInt8] = []
        while let byte = peek(), Self.isObjectIDByte(byte) {
            bytes.append(byte)
            index += 1
            if bytes.count > 255 { throw .syntax("object id longer than 255 characters") }
        }
        guard !bytes.isEmpty else { throw .syntax("expected an object id") }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isObjectIDByte(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x5F || byte == 0x2D
    }

    // search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
    // search-modseq-ext  = SP entry-name SP entry-type-req
    // entry-name         = DQUOTE "/flags/" attr-flag DQUOTE
    // entry-type-req     = "priv" / "shared" / "all"
    mutating func searchModSequence() throws(GrammarError) -> SearchModSeq {
        try space()
        var entry: SearchModSeq.Entry? = nil
        if peek() == 0x22 {
            let name = String(decoding: try quoted(), as: UTF8.self)
            guard name.lowercased().hasPrefix("/flags/"), name.count > 7 else { throw .syntax("invalid MODSEQ entry name") }
            let flag = Flag(wire: String(name.dropFirst(7)))
            try space()
            let typeName = keyword().lowercased()
            guard let type = SearchModSeq.Entry.EntryType(rawValue: typeName) else { throw .syntax("invalid MODSEQ entry type") }
            entry = .init(flag: flag, type: type)
            try space()
        }
        return SearchModSeq(entry: entry, modSeq: try number64())
    }
}
