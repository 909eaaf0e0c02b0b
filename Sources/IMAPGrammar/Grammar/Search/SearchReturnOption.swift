/// A SEARCH return option (RFC 4731 section 3.1, RFC 5182 SAVE, RFC 9051 section 6.4.4).
///
/// ```
/// search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
/// search-return-opt  = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"
/// ```
public enum SearchReturnOption: String, Hashable, Sendable {
    case min = "MIN"
    case max = "MAX"
    case all = "ALL"
    case count = "COUNT"
    case save = "SAVE"
}
