/// A failure inside the grammar; ``CommandParser`` turns it into a ``CommandParseError``.
struct GrammarError: Error {
    var kind: CommandParseError.Kind
    var message: String

    static func syntax(_ message: String) -> GrammarError {
        GrammarError(kind: .badSyntax, message: message)
    }
}

/// A read position over the bytes of one complete command (line parts and literals).
///
/// The functions in the `*Grammar.swift` files extend this type, one per ABNF rule.
struct GrammarCursor {
    let bytes: [UInt8]
    var index: Int
    let limits: IMAPLimits
    /// Current SEARCH nesting depth.
    var depth = 0

    init(_ bytes: [UInt8], limits: IMAPLimits, index: Int = 0) {
        self.bytes = bytes
        self.limits = limits
        self.index = index
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

    mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws(GrammarError) {
        guard take(byte) else { throw .syntax("expected \(what())") }
    }

    /// `SP`
    mutating func space() throws(GrammarError) {
        try expect(0x20, "space")
    }

    /// `CRLF` (a bare LF is tolerated) and nothing after it.
    mutating func endOfLine() throws(GrammarError) {
        _ = take(0x0D)
        guard take(0x0A), isAtEnd else { throw .syntax("expected end of command") }
    }

    var atEndOfLine: Bool { peek() == 0x0D || peek() == 0x0A }

    /// Takes `word` (case-insensitive) if it comes next.
    mutating func take(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard index + w.count <= bytes.count else { return false }
        for (offset, byte) in w.enumerated() where Self.upper(bytes[index + offset]) != Self.upper(byte) {
            return false
        }
        index += w.count
        return true
    }

    mutating func expect(_ word: String) throws(GrammarError) {
        guard take(word) else { throw .syntax("expected \(word)") }
    }

    static func upper(_ b: UInt8) -> UInt8 {
        b >= 0x61 && b <= 0x7A ? b - 0x20 : b
    }

    /// Reads a keyword token (letters, digits, `.`, `-`, `_`), upper-cased. Empty when none.
    mutating func keyword() -> String {
        let start = index
        while let b = peek(), Self.isKeywordChar(b) { index += 1 }
        return String(decoding: bytes[start..<index].map(Self.upper), as: UTF8.self)
    }

    static func isKeywordChar(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == 0x2E || b == 0x2D || b == 0x5F
    }

    // MARK: character classes (RFC 9051 section 9)

    /// `ATOM-CHAR = <any CHAR except atom-specials>`
    /// `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials`
    static func isAtomChar(_ b: UInt8) -> Bool {
        guard b > 0x20 && b < 0x7F else { return false }
        switch b {
        case 0x28, 0x29, 0x7B, 0x25, 0x2A, 0x22, 0x5C, 0x5D: return false
        default: return true
        }
    }

    /// `ASTRING-CHAR = ATOM-CHAR / resp-specials`
    static func isAStringChar(_ b: UInt8) -> Bool {
        isAtomChar(b) || b == 0x5D
    }

    /// `list-char = ATOM-CHAR / list-wildcards / resp-specials`
    static func isListChar(_ b: UInt8) -> Bool {
        isAStringChar(b) || b == 0x25 || b == 0x2A
    }

    /// `tag = 1*<any ASTRING-CHAR except "+">`
    static func isTagChar(_ b: UInt8) -> Bool {
        isAStringChar(b) && b != 0x2B
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}
