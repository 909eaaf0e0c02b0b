/// Writing strings the way IMAP's grammar wants them (RFC 3501 section 4.3, RFC 9051 4.3).
enum IMAPString {
    // nstring = string / nil ; string = quoted / literal
    // quoted  = DQUOTE *QUOTED-CHAR DQUOTE ; QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials
    // literal = "{" number "}" CRLF *CHAR8
    /// A quoted string when every byte allows it, else a literal (8-bit, CR or LF bytes, which a
    /// quoted string cannot carry in IMAP4rev1). NUL becomes U+FFFD.
    static func string(_ text: String, into output: inout String) {
        let utf8 = text.utf8
        // No IMAP string carries NUL (CHAR8 excludes it), and the stored facts could not hold it.
        if utf8.contains(0) {
            let replaced = String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }))
            string(replaced, into: &output)
            return
        }
        let needsLiteral = utf8.contains { $0 >= 0x80 || $0 == ASCII.carriageReturn || $0 == ASCII.lineFeed }
        if needsLiteral {
            output += "{\(StoredBytes.wireCount(text))}\r\n"
            output += text
            return
        }
        if !utf8.contains(where: { $0 == ASCII.doubleQuote || $0 == ASCII.backslash }) {
            output += "\""
            output += text
            output += "\""
            return
        }
        output += "\""
        for character in text.unicodeScalars {
            if character == "\"" || character == "\\" { output += "\\" }
            output.unicodeScalars.append(character)
        }
        output += "\""
    }

    static func nstring(_ text: String?, into output: inout String) {
        guard let text else { output += "NIL"; return }
        string(text, into: &output)
    }

    /// body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
    static func parameterList(_ parameters: [MIMEParameter], into output: inout String) {
        guard !parameters.isEmpty else { output += "NIL"; return }
        output += "("
        for (index, parameter) in parameters.enumerated() {
            if index > 0 { output += " " }
            string(parameter.wireName, into: &output)
            output += " "
            string(parameter.wireValue, into: &output)
        }
        output += ")"
    }
}
