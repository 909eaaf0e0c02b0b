/// A read position over the bytes of one command line, without its line ending.
///
/// The functions in the `*Grammar.swift` files extend this type, one per ABNF rule.
struct SMTPCursor {
    let bytes: [UInt8]
    var index: Int
    let limits: SMTPLimits

    init<Bytes: Collection>(_ bytes: Bytes, limits: SMTPLimits) where Bytes.Element == UInt8 {
        self.bytes = Array(bytes)
        self.index = 0
        self.limits = limits
    }

    var isAtEnd: Bool { index >= bytes.count }

    func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    /// Takes `word` (ASCII, case-insensitive) if it comes next.
    mutating func take(_ word: String) -> Bool {
        let expected = Array(word.utf8)
        guard index + expected.count <= bytes.count else { return false }
        for (offset, byte) in expected.enumerated() where Self.upper(bytes[index + offset]) != Self.upper(byte) {
            return false
        }
        index += expected.count
        return true
    }

    /// The bytes from `start` to the current position, as text.
    func text(from start: Int) -> String {
        String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// The rest of the line, as text, consuming it.
    mutating func rest() -> String {
        let start = index
        index = bytes.count
        return text(from: start)
    }

    /// Skips a run of spaces; returns how many.
    @discardableResult
    mutating func skipSpaces() -> Int {
        let start = index
        while peek() == .space { index += 1 }
        return index - start
    }

    /// The length of the well-formed UTF-8 sequence of a non-ASCII scalar at `offset` from the
    /// current position (RFC 3629 section 4), or nil when the bytes there are not one.
    func utf8NonASCIILength(at offset: Int = 0) -> Int? {
        guard let lead = peek(offset), lead >= 0x80 else { return nil }
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F  // no UTF-16 surrogates
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F  // nothing above U+10FFFF
        default: return nil
        }
        guard let second = peek(offset + 1), secondRange.contains(second) else { return nil }
        for extra in 2..<length {
            guard let next = peek(offset + extra), (0x80...0xBF).contains(next) else { return nil }
        }
        return length
    }

    /// Takes one well-formed non-ASCII UTF-8 scalar (`UTF8-non-ascii`, RFC 6532 section 3.1).
    mutating func takeUTF8NonASCII() -> Bool {
        guard let length = utf8NonASCIILength() else { return false }
        index += length
        return true
    }

    static func upper(_ byte: UInt8) -> UInt8 {
        byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte
    }

    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= 0x30 && byte <= 0x39
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    /// `CTL` (RFC 5234 appendix B.1): the bytes no SMTP command argument may hold.
    static func isControl(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F
    }
}

extension UInt8 {
    static let space = UInt8(ascii: " ")
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let dot = UInt8(ascii: ".")
}
