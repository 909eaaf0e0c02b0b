/// The `[section]` of `BODY[...]` (RFC 9051 section 6.4.5).
///
/// ```
/// section         = "[" [section-spec] "]"
/// section-spec    = section-msgtext / (section-part ["." section-text])
/// section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
/// section-part    = nz-number *("." nz-number)
/// section-text    = section-msgtext / "MIME"
/// header-list     = "(" header-fld-name *(SP header-fld-name) ")"
/// ```
public struct SectionSpecifier: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// The whole part (`BODY[]`, `BODY[1.2]`).
        case complete
        case header
        case headerFields([String])
        case headerFieldsNot([String])
        case text
        /// `1.2.MIME`: only after a part number.
        case mime
    }

    /// Part numbers, empty for the top-level message.
    public var part: [Int]
    public var kind: Kind

    public init(part: [Int] = [], kind: Kind = .complete) {
        self.part = part
        self.kind = kind
    }

    public static let complete = SectionSpecifier()

    /// The text between the brackets, e.g. `1.2.HEADER.FIELDS (DATE FROM)`.
    public var wire: String {
        var pieces: [String] = []
        if !part.isEmpty { pieces.append(part.map(String.init).joined(separator: ".")) }
        switch kind {
        case .complete: break
        case .header: pieces.append("HEADER")
        case .headerFields(let f): pieces.append("HEADER.FIELDS (\(f.map(Self.headerFieldName).joined(separator: " ")))")
        case .headerFieldsNot(let f): pieces.append("HEADER.FIELDS.NOT (\(f.map(Self.headerFieldName).joined(separator: " ")))")
        case .text: pieces.append("TEXT")
        case .mime: pieces.append("MIME")
        }
        return pieces.joined(separator: ".")
    }

    /// `header-fld-name = astring`, echoed so that it reads back as the name the client sent: an
    /// atom when it is one (never with `]`, which would end the section), else a quoted string,
    /// else a literal.
    static func headerFieldName(_ name: String) -> String {
        let bytes = Array(name.utf8)
        if !bytes.isEmpty, bytes.allSatisfy(GrammarCursor.isAtomChar), name.uppercased() != "NIL" { return name }
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            var quoted = "\""
            for character in name {
                if character == "\"" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            return quoted + "\""
        }
        return "{\(bytes.count)}\r\n" + name
    }
}
