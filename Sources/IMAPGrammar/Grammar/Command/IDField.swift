/// One field of an ID command or response (RFC 2971 section 3.3).
///
/// ```
/// id-params-list ::= "(" #(string SPACE nstring) ")" / nil   ; at most 30 pairs
/// ```
public struct IDField: Hashable, Sendable {
    public var key: String
    /// nil for `NIL`.
    public var value: String?

    public init(_ key: String, _ value: String?) {
        self.key = key
        self.value = value
    }

    /// RFC 2971 section 3.3: "Implementations MUST NOT send more than 30 field-value pairs."
    public static let maxPairs = 30
}
