import NIOCore
import PostgresNIO

/// Reads one-dimensional `bigint[]` and `text[]` cells straight from Postgres's binary array
/// format (a header, then a length and the bytes of each element).
///
/// SELECT reads the UID, id, flags and modseq of every message of a folder as four arrays. The
/// generic decoding of PostgresNIO looks up type metadata and goes through protocol witnesses per
/// element, which took a sixth of a node's CPU under a load of SELECTs; these loops do not.
/// A cell in text format, with NULL elements or more than one dimension goes the generic way.
enum BinaryArrayCell {
    static func int64s(_ cell: PostgresCell) throws -> [Int64] {
        guard var elements = try elementBytes(cell, elementType: .int8) else { return try cell.decode([Int64].self) }
        var values: [Int64] = []
        values.reserveCapacity(elements.count)
        while elements.count > 0 {
            guard elements.buffer.readInteger(as: Int32.self) == 8, let value = elements.buffer.readInteger(as: Int64.self) else {
                return try cell.decode([Int64].self)
            }
            values.append(value)
            elements.count -= 1
        }
        return values
    }

    static func strings(_ cell: PostgresCell) throws -> [String] {
        guard var elements = try elementBytes(cell, elementType: .text) else { return try cell.decode([String].self) }
        var values: [String] = []
        values.reserveCapacity(elements.count)
        while elements.count > 0 {
            guard let length = elements.buffer.readInteger(as: Int32.self), length >= 0,
                  let value = elements.buffer.readString(length: Int(length)) else {
                return try cell.decode([String].self)
            }
            values.append(value)
            elements.count -= 1
        }
        return values
    }

    /// The element section of the cell and the number of elements, or nil when the cell is not a
    /// binary, one-dimensional array of `elementType` without NULLs (an empty array has no dimension).
    private static func elementBytes(_ cell: PostgresCell, elementType: PostgresDataType) throws
        -> (buffer: ByteBuffer, count: Int)? {
        guard cell.format == .binary, var buffer = cell.bytes,
              let dimensions = buffer.readInteger(as: Int32.self), let hasNulls = buffer.readInteger(as: Int32.self),
              let type = buffer.readInteger(as: UInt32.self) else { return nil }
        if dimensions == 0 { return (buffer, 0) }
        guard dimensions == 1, hasNulls == 0, type == elementType.rawValue,
              let count = buffer.readInteger(as: Int32.self), count >= 0, buffer.readInteger(as: Int32.self) != nil else { return nil }
        return (buffer, Int(count))
    }
}
