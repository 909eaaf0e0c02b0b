/// Visible text of HTML, good enough for snippets and search: tags removed, the contents of
/// script, style, head and comments dropped, entities decoded, block elements end lines.
public enum HTMLText {
    static let hiddenElements: Set<String> = ["script", "style", "head", "title", "template", "noscript"]
    static let blockElements: Set<String> = ["p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                                              "blockquote", "pre", "table", "ul", "ol", "hr", "section", "article"]
    static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "copy": "©", "reg": "®",
        "mdash": "—", "ndash": "–", "hellip": "…", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”",
        "euro": "€", "trade": "™", "bull": "•", "middot": "·", "zwnj": "", "zwj": "",
    ]

    public static func visibleText(_ html: String) -> String {
        let scalars = Array(html.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        var hiddenUntil: String? = nil
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "<" && (index + 1 == scalars.count || !Self.canStartTag(scalars[index + 1])) {
                // "a < b": text, decided without scanning ahead (which would be quadratic).
                if hiddenUntil == nil { output.append(scalar) }
                index += 1
                continue
            }
            if scalar == "<" {
                // <!-- comment -->
                if index + 3 < scalars.count, scalars[index + 1] == "!", scalars[index + 2] == "-", scalars[index + 3] == "-" {
                    var probe = index + 4
                    while probe + 2 < scalars.count, !(scalars[probe] == "-" && scalars[probe + 1] == "-" && scalars[probe + 2] == ">") {
                        probe += 1
                    }
                    index = min(probe + 3, scalars.count)
                    continue
                }
                var end = index + 1
                var quote: Unicode.Scalar? = nil
                while end < scalars.count {
                    let current = scalars[end]
                    if let open = quote { if current == open { quote = nil } }
                    else if current == "\"" || current == "'" { quote = current }
                    else if current == ">" { break }
                    end += 1
                }
                var nameStart = index + 1
                let isClosing = nameStart < end && scalars[nameStart] == "/"
                if isClosing { nameStart += 1 }
                var nameEnd = nameStart
                while nameEnd < end, scalars[nameEnd].properties.isAlphabetic || ("0"..."9").contains(scalars[nameEnd]) {
                    nameEnd += 1
                }
                let name = String(String.UnicodeScalarView(scalars[nameStart..<nameEnd])).lowercased()
                if let hidden = hiddenUntil {
                    if isClosing && name == hidden { hiddenUntil = nil }
                } else if !isClosing && hiddenElements.contains(name) && !(end > 0 && scalars[end - 1] == "/") {
                    hiddenUntil = name
                } else if blockElements.contains(name) {
                    output.append("\n")
                } else if nameEnd == nameStart && !isClosing
                            && (index + 1 == scalars.count || (scalars[index + 1] != "!" && scalars[index + 1] != "?")) {
                    // "<" not starting a tag ("a < b"): it is text.
                    if hiddenUntil == nil { output.append(scalar) }
                    index += 1
                    continue
                }
                index = min(end + 1, scalars.count)
                continue
            }
            if hiddenUntil != nil { index += 1; continue }
            if scalar == "&" {
                var end = index + 1
                while end < scalars.count, end - index <= 10, scalars[end] != ";", scalars[end] != "&", scalars[end] != " " { end += 1 }
                if end < scalars.count, scalars[end] == ";" {
                    let entity = String(String.UnicodeScalarView(scalars[(index + 1)..<end]))
                    if let decoded = decodeEntity(entity) {
                        output.append(contentsOf: decoded.unicodeScalars)
                        index = end + 1
                        continue
                    }
                }
            }
            output.append(scalar)
            index += 1
        }
        return String(output)
    }

    static func canStartTag(_ next: Unicode.Scalar) -> Bool {
        next == "/" || next == "!" || next == "?" || (next.isASCII && next.properties.isAlphabetic)
    }

    static func decodeEntity(_ entity: String) -> String? {
        if entity.hasPrefix("#") {
            let digits = entity.dropFirst()
            let value: UInt32?
            if digits.hasPrefix("x") || digits.hasPrefix("X") { value = UInt32(digits.dropFirst(), radix: 16) }
            else { value = UInt32(digits) }
            guard let value, let scalar = Unicode.Scalar(value) else { return nil }
            return String(Character(scalar))
        }
        return namedEntities[entity] ?? namedEntities[entity.lowercased()]
    }

    /// Runs of whitespace (line breaks included) become one space; the ends are trimmed.
    public static func foldWhitespace(_ text: String, limit: Int? = nil) -> String {
        var output = String.UnicodeScalarView()
        var pendingSpace = false
        var count = 0
        for scalar in text.unicodeScalars {
            if isFoldedSpace(scalar) {
                pendingSpace = !output.isEmpty
                continue
            }
            if let limit, count >= limit { break }
            if pendingSpace { output.append(" "); count += 1; pendingSpace = false }
            if let limit, count >= limit { break }
            output.append(scalar)
            count += 1
        }
        return String(output)
    }

    /// Unicode white space, no-break space and zero-width space. ASCII, nearly all of a text, is
    /// decided without the Unicode property tables.
    @inline(__always) private static func isFoldedSpace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar == " " || (0x09...0x0D).contains(scalar.value) }
        return scalar.properties.isWhitespace || scalar == "\u{00A0}" || scalar == "\u{200B}"
    }
}
