/// The tagged completion of a command (RFC 9051 section 7.1).
///
/// ```
/// response-tagged = tag SP resp-cond-state CRLF
/// ```
/// `S: a002 OK [READ-WRITE] SELECT completed`
public struct TaggedResponse: Hashable, Sendable {
    public var tag: String
    public var state: ResponseState
    public var text: ResponseText

    public init(tag: String, state: ResponseState, text: ResponseText) {
        self.tag = tag
        self.state = state
        self.text = text
    }

    public init(tag: String, state: ResponseState, code: ResponseCode? = nil, _ text: String) {
        self.init(tag: tag, state: state, text: ResponseText(code: code, text: text))
    }

    func write(into writer: inout ResponseWriter) {
        writer.writeString("\(tag) \(state.rawValue) ")
        text.write(into: &writer)
        writer.writeCRLF()
    }
}
