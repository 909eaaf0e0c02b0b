/// A calendar date as used by SEARCH (RFC 9051 section 9).
///
/// ```
/// date       = date-text / DQUOTE date-text DQUOTE
/// date-text  = date-day "-" date-month "-" date-year
/// date-day   = 1*2DIGIT
/// date-month = "Jan" / "Feb" / "Mar" / "Apr" / "May" / "Jun" / "Jul" / "Aug" / "Sep" / "Oct" / "Nov" / "Dec"
/// date-year  = 4DIGIT
/// ```
public struct IMAPDate: Hashable, Sendable {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `1-Feb-1994`
    public var wire: String {
        "\(day)-\(IMAPDate.monthNames[month - 1])-\(year)"
    }
}
