/// A `BODY[...]` section specifier (RFC 3501 section 6.4.5, RFC 9051 section 6.4.5).
///
/// ```
/// section-spec  = section-msgtext / (section-part ["." section-text])
/// section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
/// section-part  = nz-number *("." nz-number)
/// section-text  = section-msgtext / "MIME"
/// ```
public struct SectionSpec: Sendable, Hashable {
    public enum Text: Sendable, Hashable {
        case header
        case headerFields([String])
        case headerFieldsNot([String])
        case text
        case mime
    }

    /// Part numbers; empty for the top-level message.
    public var path: [Int]
    /// Nil for the part itself (`BODY[]`, `BODY[1.2]`).
    public var text: Text?

    public init(path: [Int] = [], text: Text? = nil) {
        self.path = path
        self.text = text
    }
}

extension MIMEMessage {
    /// The part that section numbers `path` name, or nil when there is none.
    ///
    /// For a message that is not multipart, section 1 is its body; inside a message/rfc822 part
    /// numbering continues with the encapsulated message's parts (RFC 3501 6.4.5).
    public func section(_ path: [Int]) -> MIMEPart? {
        var node = root
        var isStart = true
        for number in path {
            guard number >= 1 else { return nil }
            if !isStart, let embedded = node.embeddedMessage { node = embedded }
            isStart = false
            if node.isMultipart && !node.children.isEmpty {
                guard number <= node.children.count else { return nil }
                node = node.children[number - 1]
            } else if number != 1 {
                return nil
            }
        }
        return node
    }

    /// The exact bytes IMAP returns for `BODY[section]` (before any `<partial>`); nil when the
    /// section does not exist.
    public func bytes(for spec: SectionSpec) -> ArraySlice<UInt8>? {
        guard let part = section(spec.path) else { return nil }
        guard let text = spec.text else {
            return spec.path.isEmpty ? bytes[...] : bytes[part.bodyRange]
        }
        if text == .mime {
            // [n.MIME] is the part's own MIME header; for section 1 of a non-multipart message
            // that is the message header (what Dovecot returns).
            guard !spec.path.isEmpty else { return nil }
            return bytes[part.headerRange]
        }
        // HEADER, HEADER.FIELDS and TEXT refer to a message: the top-level one, or the one in a
        // message/rfc822 part. For other parts the result is empty, as Dovecot and Cyrus answer.
        let message: MIMEPart
        if spec.path.isEmpty {
            message = part
        } else if let embedded = part.embeddedMessage {
            message = embedded
        } else {
            return bytes[part.bodyRange.lowerBound..<part.bodyRange.lowerBound]
        }
        switch text {
        case .header:
            return bytes[message.headerRange]
        case .text:
            return bytes[message.bodyRange]
        case .headerFields(let names):
            return ArraySlice(selectedFields(message, names: names, keep: true))
        case .headerFieldsNot(let names):
            return ArraySlice(selectedFields(message, names: names, keep: false))
        case .mime:
            return nil
        }
    }

    /// `HEADER.FIELDS` / `HEADER.FIELDS.NOT`: matching fields in message order (names compared
    /// without case), then the blank line that ends a header, unless the message has none (RFC
    /// 3501 6.4.5: "except in the case of a message which has no body and no blank line").
    func selectedFields(_ message: MIMEPart, names: [String], keep: Bool) -> [UInt8] {
        var output: [UInt8] = []
        for field in message.headers where names.contains(where: field.hasName) == keep {
            output.append(contentsOf: bytes[field.fieldRange])
            if output.last != ASCII.lineFeed { output.append(contentsOf: [ASCII.carriageReturn, ASCII.lineFeed]) }
        }
        if hasBlankLine(message) { output.append(contentsOf: [ASCII.carriageReturn, ASCII.lineFeed]) }
        return output
    }

    /// Whether the part's header ends with the blank line that separates it from a body.
    func hasBlankLine(_ part: MIMEPart) -> Bool {
        guard part.bodyRange.isEmpty else { return true }
        var header = bytes[part.headerRange]
        guard header.last == ASCII.lineFeed else { return false }
        header.removeLast()
        if header.last == ASCII.carriageReturn { header.removeLast() }
        return header.isEmpty || header.last == ASCII.lineFeed
    }

    /// `BODY[section]<start.length>`: the partial range of `data`, clamped (RFC 3501 6.4.5: a
    /// start past the end gives an empty string).
    public static func partial(_ data: ArraySlice<UInt8>, start: Int, length: Int? = nil) -> ArraySlice<UInt8> {
        let from = data.startIndex + min(max(start, 0), data.count)
        let to = length.map { min(from + max($0, 0), data.endIndex) } ?? data.endIndex
        return data[from..<to]
    }

    /// The result of `BINARY[section]` (RFC 3516): the content with its transfer encoding
    /// removed. Nil when the section does not exist; `.notALeaf` for a multipart; `.unknownEncoding`
    /// when the encoding is not one we can undo (the server answers `[UNKNOWN-CTE]`).
    public func binary(section path: [Int]) -> BinarySection? {
        guard let part = section(path) else { return nil }
        if path.isEmpty { return .content(Array(bytes)) }
        if part.isMultipart && !part.children.isEmpty { return .notALeaf }
        switch part.contentTransferEncoding ?? "7bit" {
        case "7bit", "8bit", "binary", "", "base64", "quoted-printable":
            // The decoded bytes exactly, line ends included: BINARY is for content as it was.
            return .content(decodedBody(of: part))
        default:
            return .unknownEncoding
        }
    }
}

/// The answer to `BINARY[section]`.
public enum BinarySection: Sendable, Hashable {
    case content([UInt8])
    case unknownEncoding
    /// A multipart: BINARY decodes leaf parts only.
    case notALeaf
}
