/// The flag change of STORE (RFC 9051 section 6.4.6).
///
/// ```
/// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
/// ```
public struct StoreFlags: Hashable, Sendable {
    public enum Operation: Hashable, Sendable {
        /// `FLAGS`
        case replace
        /// `+FLAGS`
        case add
        /// `-FLAGS`
        case remove
    }

    public var operation: Operation
    /// `.SILENT`: the server sends no untagged FETCH for this change.
    public var silent: Bool
    public var flags: [Flag]

    public init(operation: Operation, silent: Bool, flags: [Flag]) {
        self.operation = operation
        self.silent = silent
        self.flags = flags
    }
}
