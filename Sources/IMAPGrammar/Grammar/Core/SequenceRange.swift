/// A range of a sequence set (RFC 9051 section 9).
///
/// ```
/// seq-range = seq-number ":" seq-number
///               ; two seq-number values and all values between these two regardless of order.
///               ; Example: 2:4 and 4:2 are equivalent.
/// ```
/// A single number is a range whose ends are equal. The ends are kept as written.
public struct SequenceRange: Hashable, Sendable {
    public var first: SequenceNumber
    public var second: SequenceNumber

    public init(_ first: SequenceNumber, _ second: SequenceNumber) {
        self.first = first
        self.second = second
    }

    public init(_ single: SequenceNumber) {
        self.init(single, single)
    }

    public init(_ range: ClosedRange<UInt32>) {
        self.init(.number(range.lowerBound), .number(range.upperBound))
    }

    /// The range in ascending order with `*` replaced by `largest`.
    public func resolved(largest: UInt32) -> ClosedRange<UInt32> {
        let a = first.resolved(largest: largest)
        let b = second.resolved(largest: largest)
        return min(a, b)...max(a, b)
    }

    public var wire: String {
        first == second ? first.wire : "\(first.wire):\(second.wire)"
    }
}
