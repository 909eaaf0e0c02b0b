#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ASCII byte constants and small scanning helpers shared by every grammar in this module.
enum ASCII {
    static let tab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let doubleQuote: UInt8 = 0x22
    static let openParenthesis: UInt8 = 0x28
    static let closeParenthesis: UInt8 = 0x29
    static let comma: UInt8 = 0x2C
    static let hyphen: UInt8 = 0x2D
    static let period: UInt8 = 0x2E
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let lessThan: UInt8 = 0x3C
    static let equals: UInt8 = 0x3D
    static let greaterThan: UInt8 = 0x3E
    static let questionMark: UInt8 = 0x3F
    static let at: UInt8 = 0x40
    static let backslash: UInt8 = 0x5C
    static let underscore: UInt8 = 0x5F

    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    @inline(__always) static func isWhitespaceOrNewline(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == carriageReturn || byte == lineFeed
    }

    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
    }

    @inline(__always) static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    static func equalsIgnoringCase(_ left: String, _ right: String) -> Bool {
        let leftBytes = left.utf8, rightBytes = right.utf8
        guard leftBytes.count == rightBytes.count else { return false }
        var leftIterator = leftBytes.makeIterator(), rightIterator = rightBytes.makeIterator()
        while let leftByte = leftIterator.next(), let rightByte = rightIterator.next() {
            if leftByte != rightByte && lowercased(leftByte) != lowercased(rightByte) { return false }
        }
        return true
    }

    /// Lowercases ASCII letters only; header names and tokens are ASCII by grammar.
    static func lowercase(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return text }
        return String(decoding: text.utf8.map(lowercased), as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Index of the first `byte` in `range`, found with `memchr` so long bodies cost a vector scan.
    @inline(__always)
    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        guard !range.isEmpty else { return nil }
        return withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress else { return nil }
            guard let found = memchr(base + range.lowerBound, Int32(byte), range.count) else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Index of the first occurrence of `needle` in `range`: `memchr` finds each candidate first
    /// byte, `memcmp` checks the rest (glibc's `memmem` is a GNU extension Swift does not import).
    func firstIndex(of needle: [UInt8], in range: Range<Int>) -> Int? {
        guard let firstByte = needle.first, range.count >= needle.count else { return nil }
        return withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress else { return nil }
            return needle.withUnsafeBufferPointer { needleBuffer -> Int? in
                let needleBase = needleBuffer.baseAddress!
                var cursor = range.lowerBound
                let lastStart = range.upperBound - needle.count
                while cursor <= lastStart {
                    guard let found = memchr(base + cursor, Int32(firstByte), lastStart - cursor + 1) else { return nil }
                    let position = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + position, needleBase, needle.count) == 0 { return position }
                    cursor = position + 1
                }
                return nil
            }
        }
    }

    /// The end of the line starting at `start`: the index after its LF, or `limit`.
    @inline(__always)
    func endOfLine(from start: Int, limit: Int) -> Int {
        if let lineFeed = firstIndex(of: ASCII.lineFeed, in: start..<limit) { return lineFeed + 1 }
        return limit
    }

    /// Counts the line breaks (LF bytes) in `range`, BODYSTRUCTURE's body-fld-lines: a last line
    /// without a line break is not counted, for text and message/rfc822 parts alike.
    func lineCount(in range: Range<Int>) -> Int {
        guard !range.isEmpty else { return 0 }
        var count = 0
        withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var cursor = base + range.lowerBound
            var remaining = range.count
            while remaining > 0, let found = memchr(cursor, Int32(ASCII.lineFeed), remaining) {
                count += 1
                let next = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) + 1
                remaining -= cursor.distance(to: next)
                cursor = next
            }
        }
        return count
    }
}

/// Text from header bytes: UTF-8 when valid (RFC 6532), otherwise each byte as Latin-1,
/// so that no input is ever lost or replaced by U+FFFD.
func textFromHeaderBytes<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    if bytes.allSatisfy({ $0 < 0x80 }) || isValidUTF8(bytes) {
        return String(decoding: bytes, as: UTF8.self)
    }
    return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
}

/// Header bytes as IMAP's BODYSTRUCTURE and ENVELOPE send them: UTF-8 as it is, any other 8-bit
/// bytes as stored (through `StoredBytes` stand-ins), never transcoded.
func wireTextFromHeaderBytes<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    if bytes.allSatisfy({ $0 < 0x80 }) || isValidUTF8(bytes) {
        return String(decoding: bytes, as: UTF8.self)
    }
    return StoredBytes.escaping(String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })))
}

func isValidUTF8<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}
