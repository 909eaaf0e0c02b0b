/// Human-readable text with an optional response code (RFC 9051 section 7.1).
///
/// ```
/// resp-text = ["[" resp-text-code "]" SP] [text]
/// ```
public struct ResponseText: Hashable, Sendable {
    public var code: ResponseCode?
    public var text: String

    public init(code: ResponseCode? = nil, text: String) {
        self.code = code
        self.text = text
    }

    func write(into writer: inout ResponseWriter) {
        if let code {
            writer.writeString("[")
            code.write(into: &writer)
            writer.writeString("]")
            if !text.isEmpty { writer.writeString(" ") }
        }
        // text = 1*TEXT-CHAR: CR and LF would end the response early.
        writer.writeString(String(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }.map(Character.init)))
    }
}
