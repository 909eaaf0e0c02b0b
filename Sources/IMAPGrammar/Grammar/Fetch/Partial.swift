/// The `<origin.length>` suffix of `BODY[...]` and `BINARY[...]` (RFC 9051 section 6.4.5).
///
/// ```
/// partial = "<" number64 "." nz-number64 ">"
/// ```
public struct Partial: Hashable, Sendable {
    public var offset: UInt64
    public var length: UInt64

    public init(offset: UInt64, length: UInt64) {
        self.offset = offset
        self.length = length
    }

    /// The byte range of a part of `size` bytes that this partial selects.
    public func clamped(toSize size: Int) -> Range<Int> {
        let start = Int(min(offset, UInt64(size)))
        let (sum, overflow) = offset.addingReportingOverflow(length)
        let end = overflow ? size : Int(min(sum, UInt64(size)))
        return start..<max(start, end)
    }
}
