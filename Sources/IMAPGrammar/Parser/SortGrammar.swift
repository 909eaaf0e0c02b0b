/// SORT and THREAD (RFC 5256 section 5, RFC 5267 section 3 for SORT RETURN, RFC 5957 for the
/// DISPLAY keys).
extension GrammarCursor {
    // sort = ["UID" SP] "SORT" [search-return-opts] SP sort-criteria SP search-criteria
    // sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
    mutating func sort() throws(GrammarError) -> SortCommand {
        try space()
        let returnOptions = try optionalReturnOptions()
        let criteria = try parenthesizedList(allowEmpty: false, limit: SortCriterion.Key.allCases.count * 2) {
            (c: inout GrammarCursor) throws(GrammarError) -> SortCriterion in try c.sortCriterion()
        }
        try space()
        return SortCommand(returnOptions: returnOptions, criteria: criteria, search: try searchCriteria())
    }

    // sort-criterion = ["REVERSE" SP] sort-key
    mutating func sortCriterion() throws(GrammarError) -> SortCriterion {
        var name = keyword()
        var reverse = false
        if name == "REVERSE" {
            try space()
            reverse = true
            name = keyword()
        }
        guard let key = SortCriterion.Key(rawValue: name) else {
            throw .syntax(name.isEmpty ? "expected a sort key" : "unknown sort key \(name)")
        }
        return SortCriterion(key, reverse: reverse)
    }

    // thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
    // thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext
    mutating func thread() throws(GrammarError) -> ThreadCommand {
        try space()
        let name = try atom().uppercased()
        guard let algorithm = ThreadCommand.Algorithm(rawValue: name) else { throw .syntax("unknown threading algorithm \(name)") }
        try space()
        return ThreadCommand(algorithm: algorithm, search: try searchCriteria())
    }

    // search-criteria = charset 1*(SP search-key)
    mutating func searchCriteria() throws(GrammarError) -> SearchCommand {
        let charset = try searchCharset()
        try space()
        return SearchCommand(charset: charset, key: try searchKeys())
    }
}
