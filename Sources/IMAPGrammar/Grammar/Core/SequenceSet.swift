/// A set of message sequence numbers or UIDs (RFC 9051 section 9, RFC 5182).
///
/// ```
/// sequence-set     = (seq-number / seq-range) ["," sequence-set]
/// sequence-set     =/ seq-last-command
/// seq-last-command = "$"
/// ```
public enum SequenceSet: Hashable, Sendable {
    case ranges([SequenceRange])
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)` (RFC 5182).
    case lastCommand

    public init(_ ranges: [SequenceRange]) {
        self = .ranges(ranges)
    }

    public init(_ numbers: UInt32...) {
        self = .ranges(numbers.map { SequenceRange(.number($0)) })
    }

    /// True when `number` is in the set, `*` standing for `largest`. Always false for `$`.
    public func contains(_ number: UInt32, largest: UInt32) -> Bool {
        guard case .ranges(let ranges) = self else { return false }
        return ranges.contains { $0.resolved(largest: largest).contains(number) }
    }

    public var wire: String {
        switch self {
        case .ranges(let ranges): return ranges.map(\.wire).joined(separator: ",")
        case .lastCommand: return "$"
        }
    }

    /// The compact wire form of a set of numbers (`1:3,7`), for APPENDUID/COPYUID/VANISHED/SEARCH.
    public static func compact(_ numbers: [UInt32]) -> SequenceSet {
        let sorted = Array(Set(numbers)).sorted()
        var ranges: [SequenceRange] = []
        var index = 0
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count, sorted[end + 1] == sorted[end] &+ 1 { end += 1 }
            ranges.append(SequenceRange(sorted[index]...sorted[end]))
            index = end + 1
        }
        return .ranges(ranges)
    }

    /// The numbers in the order given (an ESORT `ALL`, RFC 5267 section 3.1): only runs that
    /// ascend by one in that order become ranges, so reading the set back gives the same order.
    public static func ordered(_ numbers: [UInt32]) -> SequenceSet {
        var ranges: [SequenceRange] = []
        var index = 0
        while index < numbers.count {
            var end = index
            while end + 1 < numbers.count, numbers[end] < UInt32.max, numbers[end + 1] == numbers[end] + 1 { end += 1 }
            ranges.append(end == index ? SequenceRange(.number(numbers[index])) : SequenceRange(numbers[index]...numbers[end]))
            index = end + 1
        }
        return .ranges(ranges)
    }
}
