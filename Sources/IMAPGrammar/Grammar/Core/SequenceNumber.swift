/// One end of a sequence range (RFC 9051 section 9).
///
/// ```
/// seq-number = nz-number / "*"
///                ; message sequence number (COPY, FETCH, STORE commands) or unique
///                ; identifier (UID COPY, UID FETCH, UID STORE commands).
///                ; * represents the largest number in use.
/// ```
public enum SequenceNumber: Hashable, Sendable {
    case number(UInt32)
    /// `*`: the largest number in use.
    case last

    /// The value with `*` replaced by `largest`.
    public func resolved(largest: UInt32) -> UInt32 {
        switch self {
        case .number(let n): return n
        case .last: return largest
        }
    }

    public var wire: String {
        switch self {
        case .number(let n): return String(n)
        case .last: return "*"
        }
    }
}
