/// Mailbox commands: SELECT/EXAMINE parameters, CREATE, LIST, STATUS (RFC 9051 section 6.3).
extension GrammarCursor {
    // select  = "SELECT" SP mailbox [select-params]
    // select-params = SP "(" select-param *(SP select-param) ")"
    mutating func selectArguments() throws(GrammarError) -> (MailboxName, [SelectParameter]) {
        let name = try mailbox()
        guard take(0x20) else { return (name, []) }
        let params = try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) in try c.selectParameter() }
        return (name, params)
    }

    // select-param = "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
    //                [SP seq-match-data] ")" / select-param-name [SP select-param-value]
    // seq-match-data = "(" known-sequence-set SP known-uid-set ")"
    mutating func selectParameter() throws(GrammarError) -> SelectParameter {
        let name = keyword()
        switch name {
        case "CONDSTORE": return .condStore
        case "QRESYNC":
            try space()
            try expect(0x28, "'('")
            let uidValidity = try nzNumber()
            try space()
            let modSeq = try modSequenceValue()
            var parameter = QResyncParameter(uidValidity: uidValidity, modSeq: modSeq)
            if take(0x20) {
                if peek() != 0x28 {
                    parameter.knownUIDs = try sequenceSet()
                    if take(0x20) { parameter.sequenceMatch = try sequenceMatch() }
                } else {
                    parameter.sequenceMatch = try sequenceMatch()
                }
            }
            try expect(0x29, "')'")
            return .qResync(parameter)
        case "": throw .syntax("expected a SELECT parameter")
        default: return .other(name)
        }
    }

    mutating func sequenceMatch() throws(GrammarError) -> QResyncParameter.SequenceMatch {
        try expect(0x28, "'('")
        let seq = try sequenceSet()
        try space()
        let uids = try sequenceSet()
        try expect(0x29, "')'")
        return .init(knownSequenceSet: seq, knownUIDSet: uids)
    }

    // create = "CREATE" SP mailbox [create-params]
    // create-params = SP "(" create-param *( SP create-param) ")"
    // create-param  = "USE" SP "(" [use-attr *(SP use-attr)] ")"
    mutating func create() throws(GrammarError) -> Command {
        try space()
        let name = try mailbox()
        guard take(0x20) else { return .create(name, []) }
        let params = try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) -> CreateParameter in
            let param = c.keyword()
            guard param == "USE" else {
                guard !param.isEmpty else { throw .syntax("expected a CREATE parameter") }
                return .other(param)
            }
            try c.space()
            return .use(try c.parenthesizedList { (c: inout GrammarCursor) throws(GrammarError) in try c.mailboxAttribute() })
        }
        return .create(name, params)
    }

    // use-attr = "\All" / "\Archive" / "\Drafts" / "\Flagged" / "\Junk" / "\Sent" / "\Trash" / use-attr-ext
    mutating func mailboxAttribute() throws(GrammarError) -> MailboxAttribute {
        try expect(0x5C, "'\\'")
        return MailboxAttribute(wire: try atom())
    }

    // list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
    // list-select-opts = "(" [list-select-option *(SP list-select-option)] ")"
    // mbox-or-pat = list-mailbox / patterns
    // patterns    = "(" list-mailbox *(SP list-mailbox) ")"
    // list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
    mutating func list() throws(GrammarError) -> ListCommand {
        try space()
        var isExtended = false
        var selection: [ListSelectOption] = []
        if peek() == 0x28 {
            isExtended = true
            selection = try parenthesizedList { (c: inout GrammarCursor) throws(GrammarError) -> ListSelectOption in
                switch c.keyword() {
                case "SUBSCRIBED": return .subscribed
                case "REMOTE": return .remote
                case "RECURSIVEMATCH": return .recursiveMatch
                case "SPECIAL-USE": return .specialUse
                case "": throw .syntax("expected a LIST selection option")
                case let other: return .other(other)
                }
            }
            // RFC 5258 section 3: RECURSIVEMATCH alone is an error ("BAD").
            if selection.contains(.recursiveMatch),
               !selection.contains(where: { $0 == .subscribed || $0 == .specialUse || { if case .other = $0 { return true } else { return false } }($0) }) {
                throw .syntax("RECURSIVEMATCH needs a base selection option")
            }
            try space()
        }
        let reference = try mailbox()
        try space()
        let patterns: [String]
        if peek() == 0x28 {
            isExtended = true
            patterns = try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) in try c.listMailbox() }
        } else {
            patterns = [try listMailbox()]
        }
        var returnOptions: [ListReturnOption] = []
        if take(0x20) {
            try expect("RETURN")
            try space()
            isExtended = true
            returnOptions = try parenthesizedList { (c: inout GrammarCursor) throws(GrammarError) -> ListReturnOption in
                switch c.keyword() {
                case "SUBSCRIBED": return .subscribed
                case "CHILDREN": return .children
                case "SPECIAL-USE": return .specialUse
                case "STATUS":
                    try c.space()
                    return .status(try c.statusAttributes())
                case "": throw .syntax("expected a LIST return option")
                case let other: return .other(other)
                }
            }
        }
        return ListCommand(selectionOptions: selection, reference: reference, patterns: patterns,
                           returnOptions: returnOptions, isExtended: isExtended)
    }

    // status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
    mutating func status() throws(GrammarError) -> Command {
        try space()
        let name = try mailbox()
        try space()
        return .status(name, try statusAttributes())
    }

    // "(" status-att *(SP status-att) ")"
    mutating func statusAttributes() throws(GrammarError) -> [StatusAttribute] {
        try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) -> StatusAttribute in
            let name = c.keyword()
            guard let attribute = StatusAttribute(rawValue: name) else { throw .syntax("unknown STATUS item \(name)") }
            return attribute
        }
    }
}
