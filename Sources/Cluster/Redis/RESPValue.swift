/// One reply from a Redis server, as RESP2 defines it.
///
/// RESP2 has five wire types; `null` stands for both the null bulk string (`$-1\r\n`) and the
/// null array (`*-1\r\n`), which hiredis's reader does not tell apart either.
///
/// ```
/// +OK\r\n                         -> .simpleString("OK")
/// -ERR unknown command\r\n        -> .error("ERR unknown command")
/// :42\r\n                         -> .integer(42)
/// $5\r\nhello\r\n                 -> .bulkString(Array("hello".utf8))
/// $-1\r\n                         -> .null
/// *2\r\n:1\r\n$1\r\na\r\n          -> .array([.integer(1), .bulkString([97])])
/// ```
public enum RESPValue: Sendable, Hashable {
    /// `+` a status line, never binary (RESP forbids CR and LF inside).
    case simpleString(String)
    /// `-` an error line; by convention its first word is the error kind (`ERR`, `WRONGTYPE`, ...).
    case error(String)
    /// `:` a signed 64-bit integer.
    case integer(Int64)
    /// `$` a binary-safe string.
    case bulkString([UInt8])
    /// `$-1` or `*-1`: a missing value.
    case null
    /// `*` an ordered list of values, possibly nested.
    case array([RESPValue])
}

extension RESPValue {
    /// The value as text: simple strings as they are, bulk strings when they are valid UTF-8,
    /// integers in decimal. `nil` for errors, null, arrays and bulk strings that are not UTF-8.
    public var string: String? {
        switch self {
        case .simpleString(let text):
            return text
        case .bulkString(let bytes):
            return String(validating: bytes, as: UTF8.self)
        case .integer(let number):
            return String(number)
        case .error, .null, .array:
            return nil
        }
    }

    /// The raw bytes of a bulk or simple string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes):
            return bytes
        case .simpleString(let text):
            return Array(text.utf8)
        case .error, .integer, .null, .array:
            return nil
        }
    }

    /// The value as an integer: RESP integers, and strings holding a decimal number
    /// (Redis returns `GET` of a counter as a bulk string).
    public var int: Int64? {
        switch self {
        case .integer(let number):
            return number
        case .simpleString, .bulkString:
            return self.string.flatMap { Int64($0) }
        case .error, .null, .array:
            return nil
        }
    }

    /// The elements of an array reply.
    public var array: [RESPValue]? {
        if case .array(let elements) = self {
            return elements
        }
        return nil
    }

    /// Whether this is the null bulk string or null array.
    public var isNull: Bool {
        self == .null
    }

    /// The message of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self {
            return message
        }
        return nil
    }
}

extension RESPValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .simpleString(let text):
            return "+\(text)"
        case .error(let message):
            return "-\(message)"
        case .integer(let number):
            return ":\(number)"
        case .bulkString(let bytes):
            if let text = String(validating: bytes, as: UTF8.self) {
                return "\"\(text)\""
            }
            return "<\(bytes.count) bytes>"
        case .null:
            return "(nil)"
        case .array(let elements):
            return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
