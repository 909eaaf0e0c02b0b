/// GETMETADATA and SETMETADATA (RFC 5464 section 5).
extension GrammarCursor {
    // getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries
    // entries     = entry / "(" entry *(SP entry) ")"
    mutating func getMetadata() throws(GrammarError) -> Command {
        try space()
        var options = MetadataOptions()
        if peek() == 0x28 {
            options = try metadataOptions()
            try space()
        }
        let mailbox = try self.mailbox()
        try space()
        // Some clients put the options after the mailbox (Cyrus takes both orders): a list that
        // starts with an option name is options, not entries.
        let save = index
        if take(0x28), ["MAXSIZE", "DEPTH"].contains(keyword()) {
            index = save
            options = try metadataOptions()
            try space()
        } else {
            index = save
        }
        let entries: [String]
        if peek() == 0x28 {
            entries = try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) -> String in try c.metadataEntryName() }
        } else {
            entries = [try metadataEntryName()]
        }
        return .getMetadata(mailbox, options: options, entries: entries)
    }

    // getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
    // getmetadata-option  = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")
    mutating func metadataOptions() throws(GrammarError) -> MetadataOptions {
        var options = MetadataOptions()
        var seenDepth = false, seenMaxSize = false
        _ = try parenthesizedList(allowEmpty: false, limit: 2) { (c: inout GrammarCursor) throws(GrammarError) -> Void in
            switch c.keyword() {
            case "MAXSIZE" where !seenMaxSize:
                seenMaxSize = true
                try c.space()
                options.maxSize = try c.number64()
            case "DEPTH" where !seenDepth:
                seenDepth = true
                try c.space()
                switch try c.atom().lowercased() {
                case "0": options.depth = .zero
                case "1": options.depth = .one
                case "infinity": options.depth = .infinity
                default: throw .syntax("DEPTH is 0, 1 or infinity")
                }
            default:
                throw .syntax("unknown or repeated GETMETADATA option")
            }
        }
        return options
    }

    // setmetadata  = "SETMETADATA" SP mailbox SP entry-values
    // entry-values = "(" entry-value *(SP entry-value) ")"
    mutating func setMetadata() throws(GrammarError) -> Command {
        try space()
        let mailbox = try self.mailbox()
        try space()
        let values = try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) -> MetadataEntry in
            let name = try c.metadataEntryName()
            try c.space()
            return MetadataEntry(name, value: try c.metadataValue())
        }
        return .setMetadata(mailbox, values)
    }

    // entry = astring, checked against RFC 5464 3.2 and kept in lower case
    mutating func metadataEntryName() throws(GrammarError) -> String {
        let name = try astringText()
        if let problem = MetadataEntry.problem(with: name) { throw .syntax(problem) }
        return name.lowercased()
    }

    // value = nstring / literal8
    mutating func metadataValue() throws(GrammarError) -> [UInt8]? {
        guard peek() == 0x7E else { return try nstring() }
        index += 1
        return try literal(allowingNUL: true)
    }
}
