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
        case .headerFields(let f): pieces.append("HEADER.FIELDS (\(f.joined(separator: " ")))")
        case .headerFieldsNot(let f): pieces.append("HEADER.FIELDS.NOT (\(f.joined(separator: " ")))")
        case .text: pieces.append("TEXT")
        case .mime: pieces.append("MIME")
        }
        return pieces.joined(separator: ".")
    }
}
