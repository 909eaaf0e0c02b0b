/// The arguments of SORT and UID SORT (RFC 5256 section 3, RFC 5267 section 3 for RETURN).
///
/// ```
/// sort          = ["UID" SP] "SORT" [search-return-opts] SP sort-criteria SP search-criteria
/// sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
/// search-criteria = charset 1*(SP search-key)
/// ```
/// `C: A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994`
public struct SortCommand: Hashable, Sendable {
    /// nil without RETURN (answer with `* SORT`); otherwise answer with `* ESEARCH` (ESORT).
    public var returnOptions: [SearchReturnOption]?
    public var criteria: [SortCriterion]
    /// The charset is required in SORT; it is upper-cased here.
    public var search: SearchCommand

    public init(returnOptions: [SearchReturnOption]? = nil, criteria: [SortCriterion], search: SearchCommand) {
        self.returnOptions = returnOptions
        self.criteria = criteria
        self.search = search
    }
}
