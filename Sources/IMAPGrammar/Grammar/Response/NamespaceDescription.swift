/// One namespace of the NAMESPACE response (RFC 2342, RFC 9051 section 7.3.5).
///
/// ```
/// namespace = nil / "(" 1*namespace-descr ")"
/// namespace-descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil) [namespace-response-extensions] ")"
/// ```
/// `S: * NAMESPACE (("" "/")) NIL NIL`
public struct NamespaceDescription: Hashable, Sendable {
    public var prefix: String
    public var delimiter: Character?

    public init(prefix: String, delimiter: Character?) {
        self.prefix = prefix
        self.delimiter = delimiter
    }

    static func write(_ namespaces: [NamespaceDescription], into writer: inout ResponseWriter) {
        guard !namespaces.isEmpty else {
            writer.writeString("NIL")
            return
        }
        // "(" 1*namespace-descr ")": the descriptions follow each other without a separator.
        writer.writeString("(")
        for ns in namespaces {
            writer.writeString("(")
            writer.writeIMAPString(ns.prefix)
            writer.writeString(" ")
            if let d = ns.delimiter { writer.writeIMAPString(String(d)) } else { writer.writeString("NIL") }
            writer.writeString(")")
        }
        writer.writeString(")")
    }
}
