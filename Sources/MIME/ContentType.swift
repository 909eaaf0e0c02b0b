/// A Content-Type value (RFC 2045 section 5) with its parameters.
public struct ContentType: Sendable, Hashable {
    /// Lowercased top-level type, such as `text`.
    public var type: String
    /// Lowercased subtype, such as `plain`.
    public var subtype: String
    public var parameters: [MIMEParameter]
    /// The type and subtype in the case the message wrote them (`Text`, `Plain`): BODYSTRUCTURE
    /// reports them so, as mature servers do; comparisons use the lowercased ones.
    public var writtenType: String
    public var writtenSubtype: String

    public init(type: String, subtype: String, parameters: [MIMEParameter] = []) {
        self.type = ASCII.lowercase(type)
        self.subtype = ASCII.lowercase(subtype)
        self.parameters = parameters
        writtenType = type
        writtenSubtype = subtype
    }

    public static func == (left: ContentType, right: ContentType) -> Bool {
        left.type == right.type && left.subtype == right.subtype && left.parameters == right.parameters
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(subtype)
        hasher.combine(parameters)
    }

    /// `text/plain; charset=us-ascii`, the default of RFC 2045 section 5.2.
    public static let defaultText = ContentType(type: "text", subtype: "plain",
                                                parameters: [MIMEParameter(name: "charset", value: "us-ascii")])
    /// The default inside multipart/digest (RFC 2046 section 5.1.5).
    public static let defaultDigestPart = ContentType(type: "message", subtype: "rfc822")
    /// What a part past a parser limit is described as.
    public static let opaque = ContentType(type: "application", subtype: "octet-stream")

    /// `type/subtype`, lowercased.
    public var mimeType: String { type + "/" + subtype }
    public var isMultipart: Bool { type == "multipart" }
    public var isText: Bool { type == "text" }
    /// message/rfc822 and its RFC 6532 sibling message/global hold a whole message.
    public var isEncapsulatedMessage: Bool { type == "message" && (subtype == "rfc822" || subtype == "global") }
    public var charset: String? { parameters.value(of: "charset") }
    public var boundary: String? { parameters.value(of: "boundary") }

    public func parameter(_ name: String) -> String? { parameters.value(of: name) }

    // content := "Content-Type" ":" type "/" subtype *(";" parameter)
    // type    := discrete-type / composite-type ; subtype := extension-token / iana-token
    /// Parses a Content-Type value; returns nil when there is no `type/subtype` (the caller then
    /// uses the default, as RFC 2045 section 5.2 says for a syntactically invalid value).
    public static func parse<Bytes: Collection>(_ value: Bytes) -> ContentType? where Bytes.Element == UInt8 {
        let bytes = Array(value)
        var index = 0
        ParameterGrammar.skipWhitespaceAndComments(bytes, &index)
        let type = ParameterGrammar.token(bytes, &index)
        ParameterGrammar.skipWhitespaceAndComments(bytes, &index)
        guard !type.isEmpty, index < bytes.count, bytes[index] == UInt8(ascii: "/") else { return nil }
        index += 1
        ParameterGrammar.skipWhitespaceAndComments(bytes, &index)
        let subtype = ParameterGrammar.token(bytes, &index)
        guard !subtype.isEmpty else { return nil }
        let parameters = ParameterGrammar.merge(ParameterGrammar.parameters(bytes, from: index))
        return ContentType(type: textFromHeaderBytes(type), subtype: textFromHeaderBytes(subtype), parameters: parameters)
    }
}

/// A Content-Disposition value (RFC 2183).
public struct ContentDisposition: Sendable, Hashable {
    /// Lowercased: `inline`, `attachment` or an extension.
    public var type: String
    public var parameters: [MIMEParameter]

    public init(type: String, parameters: [MIMEParameter] = []) {
        self.type = ASCII.lowercase(type)
        self.parameters = parameters
    }

    public var isAttachment: Bool { type == "attachment" }
    public var isInline: Bool { type == "inline" }
    public var filename: String? { parameters.value(of: "filename") }

    // disposition := "Content-Disposition" ":" disposition-type *(";" disposition-parm)
    public static func parse<Bytes: Collection>(_ value: Bytes) -> ContentDisposition? where Bytes.Element == UInt8 {
        let bytes = Array(value)
        var index = 0
        ParameterGrammar.skipWhitespaceAndComments(bytes, &index)
        let type = ParameterGrammar.token(bytes, &index)
        // "Content-Disposition: ; filename=x" has no type, so there is no disposition to report
        // (the file name is still found through Content-Type's name parameter, if any).
        guard !type.isEmpty else { return nil }
        let parameters = ParameterGrammar.merge(ParameterGrammar.parameters(bytes, from: index))
        return ContentDisposition(type: textFromHeaderBytes(type), parameters: parameters)
    }
}
