/// The arguments of SEARCH and UID SEARCH (RFC 9051 section 6.4.4).
///
/// ```
/// search = "SEARCH" [search-return-opts] SP search-program
/// search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
/// ```
/// `C: A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"`
public struct SearchCommand: Hashable, Sendable {
    /// nil without RETURN (answer with `* SEARCH`); otherwise answer with `* ESEARCH`.
    /// `RETURN ()` means `RETURN (ALL)` (RFC 4731).
    public var returnOptions: [SearchReturnOption]?
    /// Upper-cased charset name, nil when not given.
    public var charset: String?
    /// Several top-level keys are folded into `.and`.
    public var key: SearchKey

    public init(returnOptions: [SearchReturnOption]? = nil, charset: String? = nil, key: SearchKey) {
        self.returnOptions = returnOptions
        self.charset = charset
        self.key = key
    }
}
