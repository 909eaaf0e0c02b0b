/// FETCH (RFC 9051 section 6.4.5, RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC).
extension GrammarCursor {
    // fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
    //         "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
    mutating func fetch() throws(GrammarError) -> FetchCommand {
        try space()
        let set = try sequenceSet()
        try space()
        let attributes: [FetchAttribute]
        if peek() == 0x28 {
            attributes = try parenthesizedList(allowEmpty: false, limit: limits.maxFetchAttributes) { (c: inout GrammarCursor) throws(GrammarError) in
                try c.fetchAttribute()
            }
        } else {
            let save = index
            switch keyword() {
            case "ALL": attributes = FetchAttribute.all
            case "FAST": attributes = FetchAttribute.fast
            case "FULL": attributes = FetchAttribute.full
            default:
                index = save
                attributes = [try fetchAttribute()]
            }
        }
        var modifiers: [FetchModifier] = []
        if take(0x20) {
            modifiers = try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) in try c.fetchModifier() }
        }
        return FetchCommand(sequenceSet: set, attributes: attributes, modifiers: modifiers)
    }

    // fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
    //             "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial] /
    //             "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary / "MODSEQ"
    mutating func fetchAttribute() throws(GrammarError) -> FetchAttribute {
        let name = keyword()
        switch name {
        case "ENVELOPE": return .envelope
        case "FLAGS": return .flags
        case "INTERNALDATE": return .internalDate
        case "SAVEDATE": return .saveDate
        case "RFC822": return .rfc822
        case "RFC822.HEADER": return .rfc822Header
        case "RFC822.SIZE": return .rfc822Size
        case "RFC822.TEXT": return .rfc822Text
        case "BODYSTRUCTURE": return .bodyStructure(extensible: true)
        case "UID": return .uid
        case "MODSEQ": return .modSeq
        case "EMAILID": return .emailID
        case "THREADID": return .threadID
        case "PREVIEW":
            guard peek() == 0x20, peek(1) == 0x28 else { return .preview(lazy: false) }
            try space()
            let modifiers = try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) -> String in
                let modifier = c.keyword()
                guard modifier == "LAZY" else { throw .syntax("unknown PREVIEW modifier \(modifier)") }
                return modifier
            }
            return .preview(lazy: modifiers.contains("LAZY"))
        case "BODY", "BODY.PEEK":
            guard peek() == 0x5B else {
                guard name == "BODY" else { throw .syntax("BODY.PEEK needs a section") }
                return .bodyStructure(extensible: false)
            }
            let section = try section()
            return .body(section: section, partial: try partial(), peek: name == "BODY.PEEK")
        case "BINARY", "BINARY.PEEK":
            // RFC 3516 allows part numbers only; HEADER, TEXT and MIME are taken too, as other servers do.
            let section = try section()
            return .binary(section: section, partial: try partial(), peek: name == "BINARY.PEEK")
        case "BINARY.SIZE":
            return .binarySize(section: try section())
        case "": throw .syntax("expected a FETCH attribute")
        default: throw .syntax("unknown FETCH attribute \(name)")
        }
    }

    // section = "[" [section-spec] "]"
    // section-spec = section-msgtext / (section-part ["." section-text])
    // section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
    // section-part = nz-number *("." nz-number)
    // section-text = section-msgtext / "MIME"
    mutating func section() throws(GrammarError) -> SectionSpecifier {
        try expect(0x5B, "'['")
        if take(0x5D) { return .complete }
        var part: [Int] = []
        var kind = SectionSpecifier.Kind.complete
        if let b = peek(), Self.isDigit(b) {
            part.append(Int(try nzNumber()))
            while take(0x2E) {
                if let b = peek(), Self.isDigit(b) {
                    part.append(Int(try nzNumber()))
                    guard part.count <= 64 else { throw GrammarError(kind: .tooManyItems, message: "section too deep") }
                } else {
                    kind = try sectionText(allowMIME: true)
                    break
                }
            }
        } else {
            kind = try sectionText(allowMIME: false)
        }
        try expect(0x5D, "']'")
        return SectionSpecifier(part: part, kind: kind)
    }

    mutating func sectionText(allowMIME: Bool) throws(GrammarError) -> SectionSpecifier.Kind {
        let name = keyword()
        switch name {
        case "HEADER": return .header
        case "TEXT": return .text
        case "MIME" where allowMIME: return .mime
        case "HEADER.FIELDS":
            try space()
            return .headerFields(try headerList())
        case "HEADER.FIELDS.NOT":
            try space()
            return .headerFieldsNot(try headerList())
        default: throw .syntax("invalid section \(name)")
        }
    }

    // header-list = "(" header-fld-name *(SP header-fld-name) ")"
    // header-fld-name = astring
    mutating func headerList() throws(GrammarError) -> [String] {
        try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) in
            // ASCII letters only: Unicode upper-casing could change a name's bytes (`ß` to `SS`).
            String(decoding: try c.astringText().utf8.map(GrammarCursor.upper), as: UTF8.self)
        }
    }

    // partial = "<" number64 "." nz-number64 ">"
    /// `<offset>` without a length is taken as "to the end", as other servers take it.
    mutating func partial() throws(GrammarError) -> Partial? {
        guard take(0x3C) else { return nil }
        let offset = try number64()
        if take(0x3E) { return Partial(offset: offset, length: UInt64.max) }
        try expect(0x2E, "'.'")
        let length = try number64()
        guard length > 0 else { throw .syntax("partial length must be positive") }
        try expect(0x3E, "'>'")
        return Partial(offset: offset, length: length)
    }

    // fetch-modifier = chgsince-fetch-mod / "VANISHED"
    // chgsince-fetch-mod = "CHANGEDSINCE" SP mod-sequence-value
    mutating func fetchModifier() throws(GrammarError) -> FetchModifier {
        let name = keyword()
        switch name {
        case "CHANGEDSINCE":
            try space()
            return .changedSince(try modSequenceValue())
        case "VANISHED": return .vanished
        default: throw .syntax("unknown FETCH modifier \(name)")
        }
    }
}
